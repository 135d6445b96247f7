// tdxctl collateral fetch against a loopback HTTPS PCCS (cpp-httplib with
// OpenSSL, a throw-away certificate) serving the real collateral of a shared
// set with the PCS v4 paths and URL-encoded issuer-chain headers; the cached
// set then verifies the real quote.
// cpp-httplib.pc defines CPPHTTPLIB_OPENSSL_SUPPORT.
#include <httplib.h>

#include "support/fixtures.hpp"

#include "tdxctl/core/fs.hpp"
#include "tdxctl/core/hex.hpp"
#include "tdxctl/core/runner.hpp"
#include "tdxctl/quote/crypto.hpp"
#include "tdxctl/quote/service_fetch.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include <thread>

using namespace tdx;

namespace {
std::string slurp(const std::filesystem::path& p) { return core::value_or_throw(core::read_file(p)); }
std::string url_encode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') out.push_back(static_cast<char>(c));
    else out += fmt::format("%{:02X}", c);
  }
  return out;
}
} // namespace

TEST_CASE("collateral fetch from a PCCS fills a cache that verifies the quote", "[quote][integration]") {
  core::TempDir dir;
  core::RealRunner runner;
  core::run_checked(runner,
                    {{"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                      "-nodes", "-keyout", (dir / "key.pem").string(), "-out", (dir / "cert.pem").string(),
                      "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"}},
                    "make a test TLS certificate");
  auto set = test::testdata() / "quotes/tdx-v4-b0c06f-uptodate";
  httplib::SSLServer server((dir / "cert.pem").c_str(), (dir / "key.pem").c_str());
  std::atomic<int> requests{0};
  server.Get("/tdx/certification/v4/tcb", [&](const httplib::Request& req, httplib::Response& res) {
    ++requests;
    if (req.get_param_value("fmspc") != "B0C06F000000") {
      res.status = 404;
      return;
    }
    res.set_header("TCB-Info-Issuer-Chain", url_encode(slurp(set / "tcb_info_issuer_chain.pem")));
    res.set_content(slurp(set / "tcb_info.json"), "application/json");
  });
  server.Get("/tdx/certification/v4/qe/identity", [&](const httplib::Request&, httplib::Response& res) {
    res.set_header("SGX-Enclave-Identity-Issuer-Chain", url_encode(slurp(set / "qe_identity_issuer_chain.pem")));
    res.set_content(slurp(set / "qe_identity.json"), "application/json");
  });
  server.Get("/sgx/certification/v4/pckcrl", [&](const httplib::Request& req, httplib::Response& res) {
    CHECK(req.get_param_value("ca") == "platform");
    res.set_header("SGX-PCK-CRL-Issuer-Chain", url_encode(slurp(set / "pck_crl_issuer_chain.pem")));
    res.set_content(slurp(set / "pck_crl.der"), "application/pkix-crl");
  });
  server.Get("/sgx/certification/v4/rootcacrl", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(core::to_hex(core::as_bytes(slurp(set / "root_ca_crl.der"))), "text/plain"); // PCCS: hex
  });
  int port = server.bind_to_any_port("127.0.0.1");
  std::thread thread([&] { server.listen_after_bind(); });
  std::string url = fmt::format("https://127.0.0.1:{}", port);
  auto cache = dir / "cache";
  std::vector<std::string> base{"collateral", "fetch", "--pccs", url, "--cacert", (dir / "cert.pem").string(),
                                "--cache", cache.string(), "-o", "json"};

  auto by_quote = base;
  by_quote.insert(by_quote.end(), {"--quote", (set / "quote.bin").string()});
  auto dry = by_quote;
  dry.push_back("--dry-run");
  auto d = test::run_tdxctl(dry);
  CHECK(d.ok());
  CHECK_FALSE(std::filesystem::exists(cache / "B0C06F000000"));

  auto first = test::run_tdxctl(by_quote);
  INFO(first.err);
  REQUIRE(first.ok());
  CHECK(nlohmann::json::parse(first.out)["changed"] == true);
  auto again = test::run_tdxctl(by_quote);
  REQUIRE(again.ok());
  CHECK(nlohmann::json::parse(again.out)["changed"] == false);
  for (const char* f : {"tcb_info.json", "pck_crl.der", "qe_identity_issuer_chain.pem"})
    CHECK(slurp(cache / "B0C06F000000" / f) == slurp(set / f));

  auto v = test::run_tdxctl({"quote", "verify", (set / "quote.bin").string(), "--collateral",
                             (cache / "B0C06F000000").string(), "--at", "2025-06-25T00:00:00Z"});
  CHECK(v.exit_status == 0);

  auto unknown = base;
  unknown.insert(unknown.end(), {"--fmspc", "00112233AABB"});
  auto u = test::run_tdxctl(unknown);
  CHECK(u.exit_status == 3);
  CHECK_THAT(u.err, Catch::Contains("HTTP 404"));

  auto untrusted = test::run_tdxctl({"collateral", "fetch", "--pccs", url, "--fmspc", "B0C06F000000", "--cache",
                                     cache.string()});
  CHECK(untrusted.exit_status == 3); // the self-signed PCCS certificate is not trusted without --cacert
  server.stop();
  thread.join();
  CHECK(requests >= 3);
}

TEST_CASE("quote fetch --from binds REPORTDATA to the nonce and the service's TLS key", "[quote][integration]") {
  core::TempDir dir;
  core::RealRunner runner;
  core::run_checked(runner,
                    {{"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                      "-nodes", "-keyout", (dir / "key.pem").string(), "-out", (dir / "cert.pem").string(),
                      "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"}},
                    "make a test TLS certificate");
  auto set = test::testdata() / "quotes/tdx-v4-b0c06f-uptodate";
  auto b64 = core::base64_encode(core::as_bytes(slurp(set / "quote.bin")));
  httplib::SSLServer server((dir / "cert.pem").c_str(), (dir / "key.pem").c_str());
  std::string seen_nonce, seen_header;
  server.Get("/tdx/quote", [&](const httplib::Request& req, httplib::Response& res) {
    seen_nonce = req.get_param_value("nonce");
    seen_header = req.get_header_value("X-Signed");
    res.set_content(nlohmann::json(b64).dump(), "application/json");
  });
  server.Get("/attest", [&](const httplib::Request& req, httplib::Response& res) {
    CHECK(req.get_param_value("gpu_ids") == "0");
    res.set_content(nlohmann::json{{"tdx_quote", b64}, {"nvtrust_evidence", "{\"gpu\":1}"}}.dump(), "application/json");
  });
  int port = server.bind_to_any_port("127.0.0.1");
  std::thread thread([&] { server.listen_after_bind(); });
  std::string url = fmt::format("https://127.0.0.1:{}", port);
  std::string nonce(64, 'b');
  auto out = dir / "svc.quote";
  auto r = test::run_tdxctl({"quote", "fetch", "--from", url, "--cacert", (dir / "cert.pem").string(), "--header",
                             "X-Signed: abc", "--nonce", nonce, "--out", out.string(), "--verify", "--collateral",
                             set.string(), "--at", "1750809600", "-o", "json"});
  CHECK(seen_nonce == nonce);
  CHECK(seen_header == "abc");
  CHECK(slurp(out) == slurp(set / "quote.bin"));
  // The expected REPORTDATA is nonce || SHA-256(SPKI of the certificate the server presented).
  auto certs = core::value_or_throw(quote::load_pem_chain(slurp(dir / "cert.pem"), "cert"));
  auto nonce_bytes = core::value_or_throw(core::from_hex(nonce));
  auto expected = quote::service_report_data(std::span<const uint8_t, 32>(nonce_bytes.data(), 32),
                                             quote::spki_der(certs[0].get()));
  auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["expected_report_data"] == core::to_hex(expected));
  CHECK(r.exit_status == 1); // a recorded quote cannot carry this binding
  CHECK(doc["verification"]["policy"]["failures"][0]["check"] == "report_data");

  auto gpu = test::run_tdxctl({"quote", "fetch", "--from", url, "--cacert", (dir / "cert.pem").string(), "--gpu-ids",
                               "0", "--out", (dir / "gpu.quote").string()});
  CHECK(gpu.ok());
  CHECK(slurp(dir / "gpu.quote.gpu.json") == "{\"gpu\":1}");
  server.stop();
  thread.join();
}
