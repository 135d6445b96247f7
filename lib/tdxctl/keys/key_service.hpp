#pragma once
// The decisions of `tdxctl keys serve`, apart from HTTP: issue a nonce, and
// judge an attestation request. The HTTPS layer (server.hpp) only moves
// bytes and states what TLS proved (the client certificate's SPKI on this
// connection); every rule is here, so tests run each check on real quotes.
//
// An attestation is judged in this order, and the first failure decides:
//   rate limit (429) · request shape (400) · nonce issued, live, unused (403;
//   consumed either way) · VM registered (404) · evidence kind allowed (403:
//   sample only with insecure_accept_sample) · binding: REPORTDATA = nonce ||
//   SHA-256(client SPKI) (403) · quote verification with tdxctl's DCAP
//   verifier against the collateral cache (403) · the VM's policy: TCB
//   status, MRTD, RTMRs, MRCONFIGID, ... (403). Then the VM's keys are
//   released. The reason for a refusal goes to the log, never to the client.

#include "tdxctl/core/output.hpp"
#include "tdxctl/core/secret.hpp"
#include "tdxctl/keys/key_store.hpp"
#include "tdxctl/keys/nonce_book.hpp"
#include "tdxctl/keys/rate_limiter.hpp"

#include <array>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

namespace tdx::keys {

inline constexpr const char* k_default_collateral = "/var/cache/tdxctl/collateral";

struct ServiceOptions {
  std::filesystem::path store = k_default_store;
  // A collateral set (the seven files), or a cache of them by FMSPC as
  // `tdxctl collateral fetch` keeps it (DIR/<FMSPC>, upper-case hex): read
  // for every quote, so a refreshed cache takes effect at once.
  std::filesystem::path collateral = k_default_collateral;
  bool insecure_accept_sample = false;
  std::chrono::seconds nonce_ttl{120};
  size_t max_nonces = 4096;
  double rate_per_second = 1.0; // per client address
  double burst = 10;
  // Test seams (empty in production): where nonces come from, and the time
  // at which quotes are verified (recorded collateral is only valid then).
  NonceSource nonce_source;
  std::function<time_t()> verify_clock;
};

struct AttestRequest {
  std::string client;    // the peer address
  std::string nonce;     // the X-Chutes-Nonce header
  std::string body;
  // SHA-256 of the DER SubjectPublicKeyInfo of the client certificate on the
  // connection that carried this request; nullopt when it had none.
  std::optional<std::array<uint8_t, 32>> client_spki_sha256;
};

struct Decision {
  int status = 403;
  std::string decision; // nonce, release, refuse, unknown_vm, rate_limited, bad_request
  std::string check;    // the check that decided a refusal (rate_limit, request, nonce, vm,
                        // evidence, binding, verification, policy, store)
  std::string reason;   // for the log only
  std::string vm;
  std::string evidence; // quote | sample (attestations)
  std::string tcb_status;
  bool containerd_key = false;
  std::shared_ptr<const core::Secret> body; // what the client gets (a key, for a release)
};

class KeyService {
public:
  explicit KeyService(ServiceOptions options);
  const ServiceOptions& options() const { return m_options; }

  Decision nonce(const std::string& client);
  Decision attest(const AttestRequest& request);

  // The one JSON log line for a decision (never a key; the reason, the VM,
  // the client, and "insecure_sample" on every line).
  core::Json log_line(const Decision& decision, const std::string& client, const std::string& method) const;

private:
  Decision refuse(Decision d, int status, std::string decision, std::string check, std::string reason) const;
  Decision judge_quote(Decision d, const StoredVm& vm, std::span<const uint8_t> quote,
                       const std::array<uint8_t, 64>& expected) const;
  ServiceOptions m_options;
  KeyStore m_store;
  NonceBook m_nonces;
  RateLimiter m_limiter;
};

} // namespace tdx::keys
