#pragma once
// The wire format of key release (tdxctl-unlock(1), PROTOCOL), in one place
// for both ends: `tdxctl-guest unlock` builds the attestation request and
// reads the key response, `tdxctl keys serve` reads the request and builds
// the response. Guest slice, so the initramfs binary carries it.
//
// Request body: {"quote": "<base64>", "vm_name": ..., "miner_hotkey": ...},
// or, for hardware-less tests only, "evidence": {"type": "sample",
// "report_data": "<128 hex>"} instead of "quote" (Confidential Containers'
// "sample" attester: the binding without any hardware signature).
// Response (200): {"key": ..., "containerd_key": ... (optional),
// "boot_token": ... (optional, from other services)}.

#include "tdxctl/core/error.hpp"
#include "tdxctl/core/hex.hpp"
#include "tdxctl/core/secret.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tdx::unlock {

inline constexpr const char* k_nonce_header = "X-Chutes-Nonce";
inline constexpr const char* k_sample_evidence_type = "sample";

struct AttestBody {
  std::string vm_name, miner_hotkey;
  std::optional<core::Bytes> quote;                          // "quote"
  std::optional<std::array<uint8_t, 64>> sample_report_data; // "evidence" of type sample
};

std::string attest_body_json(const AttestBody& body);
// Exactly one of "quote" and "evidence", both strings present; errors name the field.
core::Result<AttestBody> parse_attest_body(std::string_view text);

// A key travels as a JSON string written without escapes: printable ASCII
// without '"' and '\'. `keys add` refuses any other key, so the response can
// be assembled in locked memory with no JSON library copy of the key.
bool is_wire_safe_key(std::string_view key);
// The 200 body; each key must be wire-safe (Failure otherwise). This
// service issues no boot token (the containerd key travels here instead).
core::Secret key_response_body(const core::Secret& key, const core::Secret* containerd_key);

} // namespace tdx::unlock
