// tdxctl collateral fetch against a loopback HTTPS PCCS (cpp-httplib with
// OpenSSL, a throw-away certificate) serving the real collateral of a shared
// set with the PCS v4 paths and URL-encoded issuer-chain headers; the cached
// set then verifies the real quote.
// cpp-httplib.pc defines CPPHTTPLIB_OPENSSL_SUPPORT.
#include <httplib.h>

#include "support/fixtures.hpp"
#include "support/unlock_fixtures.hpp"

#include "tdxctl/core/fs.hpp"
#include "tdxctl/core/hex.hpp"
#include "tdxctl/core/runner.hpp"
#include "tdxctl/quote/crypto.hpp"
#include "tdxctl/quote/service_fetch.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include <atomic>
#include <map>
#include <mutex>
#include <cstring>
#include <optional>
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
  // TCB info per platform (a second one for --quotes); the rest is the same for all, as from PCS.
  const std::map<std::string, std::filesystem::path> platforms{
      {"B0C06F000000", set}, {"90C06F000000", test::testdata() / "quotes/tdx-v5-90c06f-uptodate"}};
  std::mutex seen_mutex;
  std::map<std::string, int> tcb_requests;
  server.Get("/tdx/certification/v4/tcb", [&](const httplib::Request& req, httplib::Response& res) {
    ++requests;
    auto fmspc = req.get_param_value("fmspc");
    {
      std::lock_guard lock(seen_mutex);
      ++tcb_requests[fmspc];
    }
    auto it = platforms.find(fmspc);
    if (it == platforms.end()) {
      res.status = 404;
      return;
    }
    res.set_header("TCB-Info-Issuer-Chain", url_encode(slurp(it->second / "tcb_info_issuer_chain.pem")));
    res.set_content(slurp(it->second / "tcb_info.json"), "application/json");
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

  // A fleet: four quotes, two platforms; each FMSPC fetched once, into one cache
  // that `quote verify --collateral CACHE` then reads per quote.
  auto fleet_cache = dir / "fleet-cache";
  auto other = test::testdata() / "quotes";
  tcb_requests.clear();
  auto fleet = test::run_tdxctl({"collateral", "fetch", "--pccs", url, "--cacert", (dir / "cert.pem").string(),
                                 "--cache", fleet_cache.string(), "-o", "json", "--quotes",
                                 (set / "quote.bin").string(), (other / "tdx-v5-90c06f-uptodate/quote.bin").string(),
                                 (other / "tdx-v5-90c06f-tcb-not-supported/quote.bin").string(),
                                 (set / "quote.bin").string()});
  INFO(fleet.err);
  REQUIRE(fleet.ok());
  CHECK(tcb_requests == std::map<std::string, int>{{"90C06F000000", 1}, {"B0C06F000000", 1}});
  auto sets = nlohmann::json::parse(fleet.out)["sets"];
  REQUIRE(sets.size() == 2);
  CHECK(sets[0]["fmspc"] == "90C06F000000");
  CHECK(sets[0]["quotes"].size() == 2);
  CHECK(sets[1]["fmspc"] == "B0C06F000000");
  CHECK(slurp(fleet_cache / "90C06F000000/tcb_info.json") == slurp(other / "tdx-v5-90c06f-uptodate/tcb_info.json"));
  CHECK(slurp(fleet_cache / "B0C06F000000/tcb_info.json") == slurp(set / "tcb_info.json"));
  auto from_root = test::run_tdxctl({"quote", "verify", (set / "quote.bin").string(), "--collateral",
                                     fleet_cache.string(), "--at", "2025-06-25T00:00:00Z"});
  CHECK(from_root.exit_status == 0);

  auto untrusted = test::run_tdxctl({"collateral", "fetch", "--pccs", url, "--fmspc", "B0C06F000000", "--cache",
                                     cache.string()});
  CHECK(untrusted.exit_status == 3); // the self-signed PCCS certificate is not trusted without --cacert
  server.stop();
  thread.join();
  CHECK(requests >= 3);
}

namespace {

// A guest attestation service on 127.0.0.1 with the certificate in `pki`. It
// answers with the real quote, REPORTDATA set to nonce || SHA-256(its TLS
// SPKI) as a real TD would bind it, unless `bind` is false (a recording).
// The patched quote no longer carries a valid signature: it tests binding.
struct AttestationService {
  httplib::SSLServer server;
  std::thread thread;
  int port = 0;
  core::Bytes spki;
  std::string quote_bytes;
  std::atomic<bool> bind{true};
  std::atomic<int> requests{0};
  std::string seen_nonce, seen_header;
  std::optional<size_t> oversized; // answer this many bytes of JSON instead

  AttestationService(const std::filesystem::path& cert, const std::filesystem::path& key)
      : server(cert.c_str(), key.c_str()) {
    quote_bytes = slurp(test::testdata() / "quotes/tdx-v4-b0c06f-uptodate/quote.bin");
    auto certs = core::value_or_throw(quote::load_pem_chain(slurp(cert), "cert"));
    spki = quote::spki_der(certs[0].get());
    server.Get("/tdx/quote", [this](const httplib::Request& req, httplib::Response& res) {
      ++requests;
      seen_nonce = req.get_param_value("nonce");
      seen_header = req.get_header_value("X-Signed");
      if (oversized) {
        // No Content-Length: only the client's own count can stop it.
        size_t left = *oversized;
        res.set_chunked_content_provider("application/json", [left](size_t, httplib::DataSink& sink) mutable {
          std::string chunk(std::min<size_t>(left, 64 * 1024), ' ');
          left -= chunk.size();
          if (!sink.write(chunk.data(), chunk.size())) return false;
          if (left == 0) sink.done();
          return true;
        });
        return;
      }
      res.set_content(nlohmann::json(b64(req)).dump(), "application/json");
    });
    server.Get("/attest", [this](const httplib::Request& req, httplib::Response& res) {
      ++requests;
      CHECK(req.get_param_value("gpu_ids") == "0");
      res.set_content(nlohmann::json{{"tdx_quote", b64(req)}, {"nvtrust_evidence", "{\"gpu\":1}"}}.dump(),
                      "application/json");
    });
    port = server.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { server.listen_after_bind(); });
  }
  ~AttestationService() {
    server.stop();
    thread.join();
  }
  std::string b64(const httplib::Request& req) const {
    std::string q = quote_bytes;
    if (bind) {
      auto nonce = core::value_or_throw(core::from_hex(req.get_param_value("nonce")));
      if (nonce.size() == 32) {
        auto rd = quote::service_report_data(std::span<const uint8_t, 32>(nonce.data(), 32), spki);
        std::memcpy(q.data() + 48 + 520, rd.data(), 64); // v4 header, then REPORTDATA in the TD report
      }
    }
    return core::base64_encode(core::as_bytes(q));
  }
  std::string url() const { return fmt::format("https://127.0.0.1:{}", port); }
};

void make_cert(const std::filesystem::path& dir) {
  core::RealRunner runner;
  core::run_checked(runner,
                    {{"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                      "-nodes", "-keyout", (dir / "key.pem").string(), "-out", (dir / "cert.pem").string(),
                      "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"}},
                    "make a test TLS certificate");
}

} // namespace

TEST_CASE("quote fetch --from binds REPORTDATA to the nonce and the service's TLS key", "[quote][integration]") {
  core::TempDir dir;
  make_cert(dir.path());
  AttestationService svc(dir / "cert.pem", dir / "key.pem");
  auto set = test::testdata() / "quotes/tdx-v4-b0c06f-uptodate";
  std::string nonce(64, 'b');
  auto out = dir / "svc.quote";
  std::vector<std::string> fetch{"quote", "fetch", "--from", svc.url(), "--cacert", (dir / "cert.pem").string(),
                                 "--header", "X-Signed: abc", "--nonce", nonce, "--out", out.string(), "-o", "json"};
  auto r = test::run_tdxctl(fetch);
  INFO(r.err);
  REQUIRE(r.exit_status == 0);
  CHECK(svc.seen_nonce == nonce);
  CHECK(svc.seen_header == "abc");
  // The expected REPORTDATA is nonce || SHA-256(SPKI of the certificate the server presented).
  auto nonce_bytes = core::value_or_throw(core::from_hex(nonce));
  auto expected = quote::service_report_data(std::span<const uint8_t, 32>(nonce_bytes.data(), 32), svc.spki);
  auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["expected_report_data"] == core::to_hex(expected));
  CHECK(doc["saved"] == true);
  auto saved = slurp(out);
  CHECK(saved.substr(48 + 520, 64) == std::string(expected.begin(), expected.end()));

  // With --verify the bound quote (whose signature the patch broke) is rejected: nothing saved.
  auto verified_out = dir / "verified.quote";
  auto v = test::run_tdxctl({"quote", "fetch", "--from", svc.url(), "--cacert", (dir / "cert.pem").string(),
                             "--out", verified_out.string(), "--verify", "--collateral", set.string(), "--at",
                             "1750809600", "-o", "json"});
  CHECK(v.exit_status == 1);
  auto vdoc = nlohmann::json::parse(v.out);
  CHECK(vdoc["saved"] == false);
  CHECK(vdoc["verification"]["verified"] == false);
  CHECK_FALSE(std::filesystem::exists(verified_out));

  auto gpu = test::run_tdxctl({"quote", "fetch", "--from", svc.url(), "--cacert", (dir / "cert.pem").string(),
                               "--gpu-ids", "0", "--out", (dir / "gpu.quote").string()});
  CHECK(gpu.ok());
  CHECK(slurp(dir / "gpu.quote.gpu.json") == "{\"gpu\":1}");
}

TEST_CASE("quote fetch --from refuses an unbound quote even without --verify, saving nothing", "[quote][integration]") {
  // A service relaying a recorded quote: REPORTDATA binds neither the nonce
  // nor this TLS key. Before, it was saved and the command exited 0.
  core::TempDir dir;
  make_cert(dir.path());
  AttestationService svc(dir / "cert.pem", dir / "key.pem");
  svc.bind = false;
  for (bool with_gpu : {false, true}) {
    auto out = dir / (with_gpu ? "gpu.quote" : "svc.quote");
    std::vector<std::string> args{"quote", "fetch", "--from", svc.url(), "--cacert", (dir / "cert.pem").string(),
                                  "--out", out.string()};
    if (with_gpu) args.insert(args.end(), {"--gpu-ids", "0"});
    auto r = test::run_tdxctl(args);
    CHECK(r.exit_status == 1);
    CHECK_THAT(r.err, Catch::Contains("not bound to this request") && Catch::Contains("nothing was saved"));
    CHECK_FALSE(std::filesystem::exists(out));
    CHECK_FALSE(std::filesystem::exists(out.string() + ".gpu.json"));
  }
  CHECK(svc.requests == 2);
  // Only the final names were ever written: no temporary file is left behind either.
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path()), {}) == 2); // cert.pem, key.pem
}

TEST_CASE("quote fetch --from and collateral fetch cap the HTTP body and name the cap", "[quote][integration]") {
  core::TempDir dir;
  make_cert(dir.path());
  AttestationService svc(dir / "cert.pem", dir / "key.pem");
  svc.oversized = 8 * 1024 * 1024 + 1;
  auto out = dir / "big.quote";
  auto r = test::run_tdxctl({"quote", "fetch", "--from", svc.url(), "--cacert", (dir / "cert.pem").string(),
                             "--out", out.string()});
  CHECK(r.exit_status == 1);
  CHECK_THAT(r.err, Catch::Contains("exceeds tdxctl's 8 MiB limit"));
  CHECK_FALSE(std::filesystem::exists(out));

  // A PCCS whose TCB info is 9 MiB long (sent with a Content-Length).
  httplib::SSLServer pccs((dir / "cert.pem").c_str(), (dir / "key.pem").c_str());
  pccs.Get("/tdx/certification/v4/tcb", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(9 * 1024 * 1024, ' '), "application/json");
  });
  int port = pccs.bind_to_any_port("127.0.0.1");
  std::thread thread([&] { pccs.listen_after_bind(); });
  auto c = test::run_tdxctl({"collateral", "fetch", "--pccs", fmt::format("https://127.0.0.1:{}", port), "--cacert",
                             (dir / "cert.pem").string(), "--fmspc", "B0C06F000000", "--cache",
                             (dir / "cache").string()});
  pccs.stop();
  thread.join();
  CHECK(c.exit_status == 1);
  CHECK_THAT(c.err, Catch::Contains("/tdx/certification/v4/tcb") && Catch::Contains("exceeds tdxctl's 8 MiB limit"));
  CHECK_FALSE(std::filesystem::exists(dir / "cache" / "B0C06F000000"));
}

TEST_CASE("a pinned --cacert is the only CA: one trusted system-wide is refused", "[quote][integration]") {
  // The server's CA sits in libcurl's default CApath (/etc/ssl/certs, in a
  // private mount namespace); --cacert names another CA. libcurl used to
  // consult both, so the system CA's server was accepted.
  core::TempDir dir;
  auto system = test::make_test_pki(dir.path(), "system");
  auto pinned = test::make_test_pki(dir.path(), "pinned");
  AttestationService svc(system.server_cert, system.server_key);
  auto out = dir / "svc.quote";
  // Control: without a pin the system CA is trusted, so the arrangement is in effect.
  auto open = test::run_with_system_ca(system.ca_cert,
                                       {TDXCTL_BINARY, "quote", "fetch", "--from", svc.url(), "--out", out.string()},
                                       dir.path());
  INFO(open.err);
  CHECK(open.exit_status == 0);
  CHECK(svc.requests == 1);
  std::filesystem::remove(out);

  auto pinned_fetch = test::run_with_system_ca(
      system.ca_cert,
      {TDXCTL_BINARY, "quote", "fetch", "--from", svc.url(), "--cacert", pinned.ca_cert.string(), "--out",
       out.string()},
      dir.path());
  CHECK(pinned_fetch.exit_status == 3);
  CHECK_THAT(pinned_fetch.err, Catch::Contains("certificate"));
  CHECK(svc.requests == 1); // the TLS handshake failed: no request reached the service
  CHECK_FALSE(std::filesystem::exists(out));

  auto collateral = test::run_with_system_ca(
      system.ca_cert,
      {TDXCTL_BINARY, "collateral", "fetch", "--pccs", svc.url(), "--cacert", pinned.ca_cert.string(), "--fmspc",
       "B0C06F000000", "--cache", (dir / "cache").string()},
      dir.path());
  CHECK(collateral.exit_status == 3);
  CHECK_THAT(collateral.err, Catch::Contains("certificate"));
  CHECK(svc.requests == 1);
}
