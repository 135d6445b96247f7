#pragma once
// `quote fetch --from URL`: the guest attestation service these images run
// (GET <base>/tdx/quote?nonce=HEX -> JSON string of base64 quote; GET
// <base>/attest?nonce=HEX&gpu_ids=... -> {"tdx_quote", "nvtrust_evidence"}).
// Its REPORTDATA is nonce (32 bytes) || SHA-256(DER SubjectPublicKeyInfo of
// the service's TLS certificate): both halves are checked against the nonce
// sent and the certificate seen on this very connection.

#include "tdxctl/core/error.hpp"
#include "tdxctl/quote/http.hpp"
#include "tdxctl/quote/quote.hpp"

#include <optional>
#include <span>
#include <string>

namespace tdx::quote {

struct ServiceEvidence {
  Bytes quote;
  std::optional<std::string> gpu_evidence; // nvtrust_evidence JSON text
  Bytes peer_spki;                         // of the TLS certificate seen
};

core::Result<ServiceEvidence> fetch_from_service(const std::string& base_url, std::span<const uint8_t, 32> nonce,
                                                 const std::string& gpu_ids, const HttpOptions& http);

Blob<64> service_report_data(std::span<const uint8_t, 32> nonce, std::span<const uint8_t> peer_spki);

} // namespace tdx::quote
