#pragma once
// A small HTTPS GET client over libcurl (CONVENTIONS §13): PCS/PCCS
// collateral and guest attestation services. It returns the response headers
// (the collateral issuer chains travel in them) and the DER of the server's
// leaf certificate, which `quote fetch --from` binds to the quote.

#include "tdxctl/core/error.hpp"
#include "tdxctl/core/hex.hpp"

#include <map>
#include <string>
#include <vector>

namespace tdx::quote {

struct HttpOptions {
  std::vector<std::string> headers; // "Name: value"
  std::string cacert;               // PEM bundle to trust instead of the system store
  std::string cert, key;            // client certificate (mTLS)
  long timeout_s = 30;
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers; // names lowercased
  std::string body;
  core::Bytes peer_cert_der; // the server's leaf certificate
};

// Errors (connection, TLS, timeout) are not_ready: "collateral unavailable".
core::Result<HttpResponse> http_get(const std::string& url, const HttpOptions& options = {});

// Percent-decoding of header values (PCS issuer chains).
std::string url_decode(std::string_view text);

} // namespace tdx::quote
