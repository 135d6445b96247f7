// libcurl GET with header capture. The peer certificate is taken from
// CURLINFO_CERTINFO (the chain curl's OpenSSL backend saw on this very
// connection), so what is bound is what was actually negotiated.
#include "tdxctl/quote/http.hpp"

#include "tdxctl/core/root.hpp"
#include "tdxctl/libcurl/api.hpp"
#include "tdxctl/quote/crypto.hpp"


#include <algorithm>
#include <cctype>
#include <memory>

#include <fmt/format.h>

namespace tdx::quote {
namespace {

// CURLOPT_MAXFILESIZE stops a body whose Content-Length is too large before
// it is read; these counters stop one sent without a length (chunked, or
// read until close). Returning short makes curl fail with CURLE_WRITE_ERROR.
struct Body {
  std::string data;
  size_t limit = 0;
  bool overflow = false;
};

struct Headers {
  std::map<std::string, std::string> fields;
  size_t bytes = 0;
  bool overflow = false;
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* body = static_cast<Body*>(user);
  if (size * n > body->limit - body->data.size()) {
    body->overflow = true;
    return 0;
  }
  body->data.append(data, size * n);
  return size * n;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* headers = static_cast<Headers*>(user);
  headers->bytes += size * n;
  if (headers->bytes > k_max_http_headers) {
    headers->overflow = true;
    return 0;
  }
  std::string_view line(data, size * n);
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string value = core::trim(line.substr(colon + 1));
    headers->fields[name] = value;
  }
  return size * n;
}

std::string size_text(size_t bytes) {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) == 0) return fmt::format("{} MiB", bytes / (1024 * 1024));
  if (bytes >= 1024 && bytes % 1024 == 0) return fmt::format("{} KiB", bytes / 1024);
  return fmt::format("{} bytes", bytes);
}

} // namespace

std::string url_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() &&
        std::isxdigit(static_cast<unsigned char>(text[i + 1])) && std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

core::Result<HttpResponse> http_get(const std::string& url, const HttpOptions& o) {
  const auto& curl_api = libcurl::api();
  std::unique_ptr<CURL, libcurl::EasyFree> curl(curl_api.global_init_ok ? curl_api.curl_easy_init() : nullptr);
  if (!curl) return core::fail(core::Category::not_ready, "http.init", "libcurl initialisation failed");
  HttpResponse r;
  Body body{{}, o.max_body, false};
  Headers headers;
  curl_slist* raw_list = nullptr;
  for (const auto& h : o.headers) raw_list = curl_api.curl_slist_append(raw_list, h.c_str());
  std::unique_ptr<curl_slist, libcurl::SlistFree> list(raw_list);
  char errbuf[CURL_ERROR_SIZE] = {0};
  CURL* c = curl.get();
  curl_api.curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_api.curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_api.curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_api.curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  curl_api.curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(o.max_body));
  curl_api.curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_api.curl_easy_setopt(c, CURLOPT_HEADERDATA, &headers);
  curl_api.curl_easy_setopt(c, CURLOPT_TIMEOUT, o.timeout_s);
  curl_api.curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  if (curl_api.curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http") != CURLE_OK)
    return core::fail(core::Category::not_ready, "http.init",
                      "libcurl cannot restrict the protocols to HTTP(S) (CURLOPT_PROTOCOLS_STR needs libcurl 7.85 or later)");
  curl_api.curl_easy_setopt(c, CURLOPT_CERTINFO, 1L);
  if (list) curl_api.curl_easy_setopt(c, CURLOPT_HTTPHEADER, list.get());
  if (!o.cacert.empty()) {
    curl_api.curl_easy_setopt(c, CURLOPT_CAINFO, o.cacert.c_str());
    curl_api.curl_easy_setopt(c, CURLOPT_CAPATH, nullptr); // only the pinned file, not /etc/ssl/certs too
  }
  if (!o.cert.empty()) curl_api.curl_easy_setopt(c, CURLOPT_SSLCERT, o.cert.c_str());
  if (!o.key.empty()) curl_api.curl_easy_setopt(c, CURLOPT_SSLKEY, o.key.c_str());
  CURLcode rc = curl_api.curl_easy_perform(c);
  if (body.overflow || rc == CURLE_FILESIZE_EXCEEDED)
    return core::fail(core::Category::failed, "http.too_large",
                      fmt::format("GET {}: the response body exceeds tdxctl's {} limit for HTTP answers", url,
                                  size_text(o.max_body)),
                      "is the URL a PCS/PCCS or attestation service endpoint?");
  if (headers.overflow)
    return core::fail(core::Category::failed, "http.too_large",
                      fmt::format("GET {}: the response headers exceed tdxctl's {} limit", url,
                                  size_text(k_max_http_headers)));
  if (rc != CURLE_OK)
    return core::fail(core::Category::not_ready, "http.unavailable",
                      fmt::format("GET {} failed: {}", url, errbuf[0] ? errbuf : curl_api.curl_easy_strerror(rc)));
  curl_api.curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  r.body = std::move(body.data);
  r.headers = std::move(headers.fields);
  curl_certinfo* info = nullptr;
  if (curl_api.curl_easy_getinfo(c, CURLINFO_CERTINFO, &info) == CURLE_OK && info && info->num_of_certs > 0) {
    for (curl_slist* s = info->certinfo[0]; s; s = s->next) {
      std::string_view field(s->data);
      if (field.starts_with("Cert:")) {
        auto certs = load_pem_chain(field.substr(5), "server certificate");
        if (certs && !certs->empty()) r.peer_cert_der = cert_der(certs->front().get());
      }
    }
  }
  return r;
}

} // namespace tdx::quote
