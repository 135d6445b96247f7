#pragma once
// `tdxctl up --attest`: wait for a running TD's attestation endpoint (its
// `quote serve` on vsock, or a UNIX socket), fetch a quote bound to a fresh
// random nonce, and verify it (DCAP signatures, TCB status, the policy and
// the nonce binding) with the same quote code `quote verify` uses.

#include "tdxctl/core/error.hpp"
#include "tdxctl/core/output.hpp"
#include "tdxctl/quote/verify_settings.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace tdx::attest {

// The vsock port the guest's `tdxctl-guest quote serve --vsock` listens on.
inline constexpr uint32_t k_quote_port = 4050;

struct FreshQuoteRequest {
  std::string connect_uri; // libvirt, for the domain's vsock CID
  std::string domain;
  uint32_t port = k_quote_port;
  std::string unix_socket; // instead of vsock when set
  int timeout_s = 300;     // waiting for the endpoint to answer
  quote::VerifySettings verify;
};

struct FreshQuoteResult {
  bool accepted = false;
  std::string endpoint; // "vsock 3:4050" or "unix PATH"
  std::string nonce_hex;
  size_t quote_size = 0;
  core::Json verification; // quote::VerifyReport::to_json()
  std::string summary;     // one line for the stage report
};

// Errors: not_ready when the endpoint does not answer within the timeout,
// invalid_input for a bad policy/collateral. A quote that does not verify is
// a result with accepted=false (the caller decides how loudly to fail).
core::Result<FreshQuoteResult> fetch_and_verify(const FreshQuoteRequest& request);

} // namespace tdx::attest
