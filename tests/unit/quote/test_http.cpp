// quote/http: the one HTTP client caps what a server may send, with and
// without a Content-Length, against a loopback cpp-httplib server.
// cpp-httplib.pc defines CPPHTTPLIB_OPENSSL_SUPPORT.
#include <httplib.h>

#include "tdxctl/quote/http.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <chrono>
#include <thread>

using namespace tdx;

namespace {

struct Server {
  httplib::Server http;
  std::thread thread;
  int port = 0;
  Server() {
    const size_t big = 64 * 1024 + 1;
    http.Get("/sized", [big](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(big, 'x'), "application/octet-stream"); // with Content-Length
    });
    http.Get("/chunked", [](const httplib::Request&, httplib::Response& res) {
      // No length: the body only ends when the server stops, which it never
      // would here; the client must cut it off itself.
      res.set_chunked_content_provider("application/octet-stream", [](size_t, httplib::DataSink& sink) {
        std::string chunk(16 * 1024, 'y');
        return sink.write(chunk.data(), chunk.size());
      });
    });
    http.Get("/small", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(64 * 1024, 'z'), "application/octet-stream");
    });
    port = http.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { http.listen_after_bind(); });
    while (!http.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ~Server() {
    http.stop();
    thread.join();
  }
  std::string url(const char* path) const { return fmt::format("http://127.0.0.1:{}{}", port, path); }
};

} // namespace

TEST_CASE("http: a body over the cap is refused with the cap named, with or without a length", "[quote][http]") {
  Server server;
  quote::HttpOptions options;
  options.max_body = 64 * 1024;
  options.timeout_s = 20;
  for (const char* path : {"/sized", "/chunked"}) {
    INFO(path);
    auto r = quote::http_get(server.url(path), options);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == "http.too_large");
    CHECK(r.error().category == core::Category::failed);
    CHECK(r.error().message == "GET " + server.url(path) + ": the response body exceeds tdxctl's 64 KiB limit for "
                                                           "HTTP answers");
  }
  auto ok = quote::http_get(server.url("/small"), options); // exactly at the cap
  REQUIRE(ok);
  CHECK(ok->status == 200);
  CHECK(ok->body.size() == 64 * 1024);
  CHECK(quote::HttpOptions{}.max_body == 8 * 1024 * 1024);
}
