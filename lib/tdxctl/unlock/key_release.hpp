#pragma once
// The client side of the key-release protocol the existing key service
// implements (EXISTING-SCRIPTS.md §6.5), attempt by attempt:
//   GET  nonce endpoint (mTLS)            -> {"nonce": "<64 hex>"}
//   quote with REPORTDATA = nonce (32 bytes) || SHA-256(client SPKI)
//   POST attestation endpoint (mTLS, X-Chutes-Nonce, JSON body)
//        200 -> {"key": "...", "boot_token": "..."(optional),
//                "containerd_key": "..."(optional)}
// 404 stops at once, 429 backs off attempt*2 s, anything else retries (2 s
// apart) up to the configured count, always with a fresh nonce.

#include "tdxctl/core/error.hpp"
#include "tdxctl/core/hex.hpp"
#include "tdxctl/core/output.hpp"
#include "tdxctl/core/secret.hpp"
#include "tdxctl/unlock/client_identity.hpp"
#include "tdxctl/unlock/unlock_config.hpp"

#include <array>
#include <chrono>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace tdx::unlock {

using QuoteFn = std::function<core::Result<core::Bytes>(std::span<const uint8_t, 64>)>;
using SleepFn = std::function<void(std::chrono::seconds)>;

// Kept as today's client sends it, so key services that log or match it see no change.
inline constexpr const char* k_user_agent = "TDX-LUKS-Client/1.0";

struct KeyReleaseRequest {
  const UnlockConfig* config = nullptr;
  const ClientIdentity* identity = nullptr;
  std::string vm_name;
  std::string miner_hotkey;
  QuoteFn quote;
  SleepFn sleep; // empty: std::this_thread::sleep_for
};

struct Attempt {
  int number = 0;
  std::string stage; // nonce, quote, attest
  long http_status = 0;
  std::string error; // empty on success; never contains the key
  core::Json to_json() const;
};

struct ReleasedKey {
  core::Secret key;
  std::optional<core::Secret> boot_token;
  std::optional<core::Secret> containerd_key; // the containerd volume's key, when the VM has one
  std::vector<Attempt> attempts;
};

struct KeyReleaseFailure {
  core::Error error;
  std::vector<Attempt> attempts;
};

std::expected<ReleasedKey, KeyReleaseFailure> release_key(const KeyReleaseRequest& request);

// Validates a nonce response body and returns the nonce (64 hex digits).
core::Result<std::string> parse_nonce_response(std::string_view body);
// REPORTDATA for a nonce (64 hex digits) and an SPKI digest.
core::Result<std::array<uint8_t, 64>> unlock_report_data(std::string_view nonce_hex,
                                                         const std::array<uint8_t, 32>& spki_sha256);

} // namespace tdx::unlock
