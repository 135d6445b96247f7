#pragma once
// A small HTTPS GET client over libcurl (CONVENTIONS §13): PCS/PCCS
// collateral and guest attestation services. It returns the response headers
// (the collateral issuer chains travel in them) and the DER of the server's
// leaf certificate, which `quote fetch --from` binds to the quote.
//
// A pinned CA (cacert) is the only trust anchor: libcurl's compiled-in CApath
// (/etc/ssl/certs) is switched off with it, so a certificate from any other
// CA on the machine is refused. Bodies and headers are capped, since both
// come from a server tdxctl does not control.

#include "tdxctl/core/error.hpp"
#include "tdxctl/core/hex.hpp"

#include <map>
#include <string>
#include <vector>

namespace tdx::quote {

// The largest PCS/PCCS answer is a PCK CRL (tens of KiB); a quote with GPU
// evidence for eight GPUs is well under 1 MiB.
inline constexpr size_t k_max_http_body = 8 * 1024 * 1024;
inline constexpr size_t k_max_http_headers = 256 * 1024; // all header lines together

struct HttpOptions {
  std::vector<std::string> headers; // "Name: value"
  std::string cacert;               // PEM bundle to trust instead of the system store (and nothing else)
  std::string cert, key;            // client certificate (mTLS)
  long timeout_s = 30;
  size_t max_body = k_max_http_body; // a longer body is an error (http.too_large)
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers; // names lowercased
  std::string body;
  core::Bytes peer_cert_der; // the server's leaf certificate
};

// Errors (connection, TLS, timeout) are not_ready: "collateral unavailable";
// a body over max_body is failed (http.too_large), naming the cap.
core::Result<HttpResponse> http_get(const std::string& url, const HttpOptions& options = {});

// Percent-decoding of header values (PCS issuer chains).
std::string url_decode(std::string_view text);

} // namespace tdx::quote
