// Client of the in-image attestation service. The TLS certificate is taken
// from the same libcurl connection that carried the answer (http_get's
// peer_cert_der), so a proxy or a second connection cannot substitute it.
#include "tdxctl/quote/service_fetch.hpp"

#include "tdxctl/quote/crypto.hpp"

#include <cstring>

#include <fmt/format.h>
#include "tdxctl/core/json_limits.hpp"

namespace tdx::quote {

Blob<64> service_report_data(std::span<const uint8_t, 32> nonce, std::span<const uint8_t> peer_spki) {
  Blob<64> out;
  std::memcpy(out.data(), nonce.data(), 32);
  auto h = sha256(peer_spki);
  std::memcpy(out.data() + 32, h.data(), 32);
  return out;
}

core::Result<ServiceEvidence> fetch_from_service(const std::string& base_url, std::span<const uint8_t, 32> nonce,
                                                 const std::string& gpu_ids, const HttpOptions& http) {
  std::string base = base_url;
  while (base.ends_with('/')) base.pop_back();
  std::string url = gpu_ids.empty() ? fmt::format("{}/tdx/quote?nonce={}", base, core::to_hex(nonce))
                                    : fmt::format("{}/attest?nonce={}&gpu_ids={}", base, core::to_hex(nonce), gpu_ids);
  auto r = http_get(url, http);
  if (!r) return std::unexpected(r.error());
  if (r->status != 200)
    return core::fail(core::Category::not_ready, "quote.service", fmt::format("GET {} answered HTTP {}", url, r->status));
  if (r->peer_cert_der.empty())
    return core::fail(core::Category::failed, "quote.service_no_tls",
                      fmt::format("GET {}: no TLS certificate seen; the quote cannot be bound to the channel (use https)", url));
  auto parsed = core::parse_untrusted_json(r->body, "GET " + url);
  if (!parsed) return core::fail(core::Category::failed, "quote.service_answer", parsed.error().message);
  const auto& doc = *parsed;
  ServiceEvidence ev;
  std::string b64;
  if (doc.is_string()) b64 = doc.get<std::string>();
  else if (doc.is_object() && doc.contains("tdx_quote") && doc["tdx_quote"].is_string()) {
    b64 = doc["tdx_quote"].get<std::string>();
    if (doc.contains("nvtrust_evidence") && doc["nvtrust_evidence"].is_string())
      ev.gpu_evidence = doc["nvtrust_evidence"].get<std::string>();
  } else
    return core::fail(core::Category::failed, "quote.service_answer",
                      fmt::format("GET {}: expected a JSON string (base64 quote) or {{\"tdx_quote\": ...}}", url));
  auto bytes = core::base64_decode(b64, "tdx_quote");
  if (!bytes) return std::unexpected(bytes.error());
  ev.quote = std::move(*bytes);
  auto cert = load_der_cert(r->peer_cert_der, "service TLS certificate");
  if (!cert) return std::unexpected(cert.error());
  ev.peer_spki = spki_der(cert->get());
  return ev;
}

} // namespace tdx::quote
