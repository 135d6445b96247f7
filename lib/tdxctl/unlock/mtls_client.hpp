#pragma once
// One HTTPS request with an in-memory client certificate (libcurl
// CURLOPT_SSLCERT_BLOB / CURLOPT_SSLKEY_BLOB), so the ephemeral key never
// touches a file. Response bodies may carry the LUKS key: they live in a
// Secret and are wiped when dropped.

#include "tdxctl/core/error.hpp"
#include "tdxctl/core/secret.hpp"
#include "tdxctl/unlock/client_identity.hpp"

#include <string>
#include <vector>

namespace tdx::unlock {

struct MtlsRequest {
  std::string method = "GET"; // GET or POST
  std::string url;
  std::vector<std::string> headers; // "Name: value"
  std::string body;                 // POST only
  std::string ca_cert;              // PEM bundle, the only trust anchor; empty: the system store
  long timeout_s = 30;
  std::string user_agent;
};

struct MtlsResponse {
  long status = 0;
  core::Secret body;
};

// A transport failure (DNS, connect, TLS handshake, timeout) is an error
// naming the URL and curl's reason; any HTTP status is a response.
core::Result<MtlsResponse> mtls_request(const MtlsRequest& request, const ClientIdentity& identity);

} // namespace tdx::unlock
