// libcurl over OpenSSL. The body buffer is reserved up front and capped, so
// a response carrying the key is not spread over reallocated (unwiped) heap
// blocks; redirects are refused, since a redirect would move the key
// exchange to a host the configuration did not name.
#include "tdxctl/unlock/mtls_client.hpp"

#include "tdxctl/libcurl/api.hpp"

#include <openssl/crypto.h>

#include <fmt/format.h>

#include <memory>

namespace tdx::unlock {
namespace {

constexpr size_t k_max_body = 256 * 1024;

struct Body {
  std::string data;
  bool overflow = false;
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* body = static_cast<Body*>(user);
  if (body->data.size() + size * n > k_max_body) {
    body->overflow = true;
    return 0; // makes curl fail with CURLE_WRITE_ERROR
  }
  body->data.append(data, size * n);
  return size * n;
}

} // namespace

core::Result<MtlsResponse> mtls_request(const MtlsRequest& r, const ClientIdentity& identity) {
  const auto& curl_api = libcurl::api();
  std::unique_ptr<CURL, libcurl::EasyFree> curl(curl_api.global_init_ok ? curl_api.curl_easy_init() : nullptr);
  if (!curl) return core::fail(core::Category::failed, "unlock.curl", "cannot initialise libcurl");
  CURL* c = curl.get();
  Body body;
  body.data.reserve(k_max_body);
  char error[CURL_ERROR_SIZE] = {};

  // NOCOPY: curl reads our buffers in place, so no unwiped copy of the key exists.
  curl_blob cert{const_cast<char*>(identity.cert_pem.data()), identity.cert_pem.size(), CURL_BLOB_NOCOPY};
  curl_blob key{const_cast<char*>(identity.key_pem.reveal().data()), identity.key_pem.size(), CURL_BLOB_NOCOPY};
  std::unique_ptr<curl_slist, libcurl::SlistFree> headers;
  for (const auto& h : r.headers) {
    curl_slist* next = curl_api.curl_slist_append(headers.get(), h.c_str());
    if (!next) return core::fail(core::Category::failed, "unlock.curl", "out of memory building headers");
    (void)headers.release();
    headers.reset(next);
  }
  curl_api.curl_easy_setopt(c, CURLOPT_URL, r.url.c_str());
  // The key exchange is HTTPS only: a libcurl too old to restrict protocols
  // (before 7.85) is refused rather than silently left unrestricted.
  if (curl_api.curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https") != CURLE_OK)
    return core::fail(core::Category::not_ready, "unlock.curl",
                      "libcurl cannot restrict the protocol to HTTPS (CURLOPT_PROTOCOLS_STR needs libcurl 7.85 or later)");
  curl_api.curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_api.curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_api.curl_easy_setopt(c, CURLOPT_TIMEOUT, r.timeout_s);
  curl_api.curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, r.timeout_s);
  curl_api.curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &cert);
  curl_api.curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
  curl_api.curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, &key);
  curl_api.curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
  curl_api.curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_api.curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!r.ca_cert.empty()) {
    // The pinned CA alone: libcurl would otherwise also trust every CA in its
    // compiled-in CApath (/etc/ssl/certs), and any of those could vouch for
    // a server that is handed this TD's disk key.
    curl_api.curl_easy_setopt(c, CURLOPT_CAINFO, r.ca_cert.c_str());
    curl_api.curl_easy_setopt(c, CURLOPT_CAPATH, nullptr);
  }
  if (!r.user_agent.empty()) curl_api.curl_easy_setopt(c, CURLOPT_USERAGENT, r.user_agent.c_str());
  curl_api.curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_api.curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_api.curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  curl_api.curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  if (r.method == "POST") {
    curl_api.curl_easy_setopt(c, CURLOPT_POSTFIELDS, r.body.c_str());
    curl_api.curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(r.body.size()));
  } else {
    curl_api.curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  }

  CURLcode rc = curl_api.curl_easy_perform(c);
  MtlsResponse out;
  out.body = core::Secret(std::move(body.data));
  if (rc != CURLE_OK) {
    std::string why = body.overflow ? fmt::format("response larger than {} KiB", k_max_body / 1024)
                                    : (error[0] ? std::string(error) : curl_api.curl_easy_strerror(rc));
    return core::fail(core::Category::not_ready, "unlock.transport",
                      fmt::format("{} {}: {}", r.method, r.url, why),
                      rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE
                          ? "check TDX_CA_CERT in unlock.conf: it must hold the CA that signed the key service's certificate"
                          : "check the endpoint URL and that the network is up");
  }
  curl_api.curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out.status);
  return out;
}

} // namespace tdx::unlock
