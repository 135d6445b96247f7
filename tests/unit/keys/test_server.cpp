// keys serve over real HTTPS (cpp-httplib, test CA) with the real unlock
// client: the SPKI the binding uses is the one on the TLS connection; sample
// evidence end to end through run_unlock (a real LUKS2 header, no configfs-
// tsm); a production unlock.conf never sends it; 404 and 429 as the client
// sees them. The back-off sleep is recorded instead of slept.
#include "tdxctl/keys/server.hpp"

#include "tdxctl/core/hex.hpp"
#include "tdxctl/unlock/client_identity.hpp"
#include "tdxctl/unlock/key_release.hpp"
#include "tdxctl/unlock/unlock.hpp"

#include "support/fixtures.hpp"
#include "support/unlock_fixtures.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <mutex>
#include <thread>

using namespace tdx;
namespace fs = std::filesystem;

namespace {

constexpr const char* k_uuid = "7a1c2e3f-4b5d-4e6f-8a9b-0c1d2e3f4a5b";
const std::string k_root_key = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const std::string k_containerd_key = "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752";

struct Served {
  core::TempDir tmp;
  test::TestPki pki = test::make_test_pki(tmp.path(), "keys");
  keys::ServiceOptions options;
  std::unique_ptr<keys::KeyService> service;
  std::unique_ptr<keys::KeyServer> server;
  std::thread thread;
  int port = 0;
  std::mutex mu;
  std::vector<nlohmann::json> log;

  explicit Served(bool insecure_sample, double burst = 10) {
    options.store = tmp / "keys";
    options.collateral = test::testdata() / "quotes/tdx-v4-b0c06f-uptodate";
    options.insecure_accept_sample = insecure_sample;
    options.burst = burst;
    options.rate_per_second = burst < 10 ? 0.001 : 100;
    auto r = std::make_shared<keys::Registration>();
    r->name = "tdx-node-7";
    r->key = core::Secret(std::string(k_root_key));
    r->containerd_key = core::Secret(std::string(k_containerd_key));
    r->policy_yaml = "accept_tcb: [UpToDate]\n";
    r->policy_file = "policy.yaml";
    core::NullProgress progress;
    keys::KeyStore(options.store).plan_add(r, core::Force::no).apply(core::DryRun::no, progress);
    service = std::make_unique<keys::KeyService>(options);
    server = std::make_unique<keys::KeyServer>(*service, pki.server_cert, pki.server_key,
                                               [this](const core::Json& line) {
                                                 std::lock_guard lock(mu);
                                                 log.push_back(nlohmann::json::parse(line.dump()));
                                               });
    port = server->bind({"127.0.0.1", 0});
    thread = std::thread([this] { server->run(); });
  }
  ~Served() {
    server->stop();
    thread.join();
  }
  std::string url(const char* path) const { return "https://127.0.0.1:" + std::to_string(port) + path; }
  std::string conf(int retries, bool sample) const {
    return "TDX_NONCE_ENDPOINT=" + url(keys::k_nonce_path) + "\nTDX_API_ENDPOINT=" + url(keys::k_attest_path) +
           "\nTDX_CA_CERT=" + pki.ca_cert.string() + "\nTDX_RETRY_COUNT=" + std::to_string(retries) +
           "\nTDX_TIMEOUT=10\nTDX_INSECURE_SAMPLE_EVIDENCE=" + (sample ? "1" : "0") + "\n";
  }
  std::vector<nlohmann::json> attest_lines() {
    std::lock_guard lock(mu);
    std::vector<nlohmann::json> out;
    for (const auto& l : log)
      if (l["event"] == "keys.attest") out.push_back(l);
    return out;
  }
};

// The guest side: a root tree with the tdx-config volume bound to MRCONFIGID
// and a LUKS2 device whose keyslot takes `luks_key`; no configfs-tsm.
struct GuestRoot {
  core::TempDir tmp;
  fs::path root = tmp / "root";
  std::vector<long> sleeps;
  unlock::UnlockRequest request;
  core::RecordingRunner runner; // mke2fs of a new containerd volume, never reached under test_passphrase
  GuestRoot(const std::string& conf, const std::string& luks_key = k_root_key) {
    fs::create_directories(root);
    test::make_luks_device(root, k_uuid, luks_key);
    test::put(root, "run/tdx-config/hostname", "tdx-node-7\n");
    test::put(root, "run/tdx-config/miner-ss58", "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY\n");
    test::bind_config_volume(root);
    test::put(tmp.path(), "unlock.conf", conf);
    request.config_file = tmp / "unlock.conf";
    request.luks_uuid = k_uuid;
    request.test_passphrase = true;
    request.device_wait = std::chrono::milliseconds(0);
    request.sleep = [this](std::chrono::seconds s) { sleeps.push_back(s.count()); };
  }
};

unlock::UnlockConfig config_of(const std::string& text) {
  return core::value_or_throw(unlock::parse_unlock_config(text, "unlock.conf"));
}

} // namespace

TEST_CASE("keys serve: a real quote from another TD is refused for the binding of this TLS connection", "[keys]") {
  Served s(false);
  auto cfg = config_of(s.conf(1, false));
  auto id = core::value_or_throw(unlock::make_client_identity("tdx-vm-1"));
  unlock::KeyReleaseRequest kr;
  kr.config = &cfg;
  kr.identity = &id;
  kr.vm_name = "tdx-node-7";
  kr.miner_hotkey = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
  kr.quote = [](std::span<const uint8_t, 64>) { return core::Result<core::Bytes>(test::sample_quote()); };
  kr.sleep = [](std::chrono::seconds) {};
  auto r = unlock::release_key(kr);
  REQUIRE_FALSE(r);
  REQUIRE(r.error().attempts.size() == 1);
  CHECK(r.error().attempts[0].http_status == 403);
  auto lines = s.attest_lines();
  REQUIRE(lines.size() == 1);
  CHECK(lines[0]["check"] == "binding");
  CHECK(lines[0]["client"] == "127.0.0.1");
  // The digest the service expected is the SPKI of this client's certificate.
  CHECK_THAT(lines[0]["reason"].get<std::string>(), Catch::Contains(core::to_hex(id.spki_sha256)));
}

TEST_CASE("keys serve: sample evidence end to end through run_unlock, with the containerd key", "[keys]") {
  Served s(true);
  GuestRoot g(s.conf(3, true));
  auto report = unlock::run_unlock(core::Root(g.root), g.request, g.runner);
  CHECK(report.evidence == "sample");
  CHECK(report.containerd_key);
  CHECK(g.runner.commands().empty()); // --test-passphrase makes no filesystem
  CHECK(report.luks.keyslot == 0); // the released key opens the LUKS2 header
  CHECK(report.attempts.size() == 1);
  auto lines = s.attest_lines();
  REQUIRE(lines.size() == 1); // exactly one release
  CHECK(lines[0]["decision"] == "release");
  CHECK(lines[0]["insecure_sample"] == true);
  CHECK(lines[0]["evidence"] == "sample");
  CHECK(lines[0]["containerd_key"] == true);
  for (const auto& l : s.log) {
    CHECK(l["insecure_sample"] == true);
    CHECK(l.dump().find(k_root_key) == std::string::npos);
  }

  // The client side exposes both keys.
  auto cfg = config_of(s.conf(1, true));
  auto id = core::value_or_throw(unlock::make_client_identity("tdx-vm-1"));
  unlock::KeyReleaseRequest kr{&cfg, &id, "tdx-node-7", "hotkey", {}, true, {}};
  auto released = unlock::release_key(kr);
  REQUIRE(released);
  CHECK(released->key.reveal() == k_root_key);
  REQUIRE(released->containerd_key);
  CHECK(released->containerd_key->reveal() == k_containerd_key);
}

TEST_CASE("keys serve without --insecure-accept-sample refuses sample evidence with 403", "[keys]") {
  Served s(false);
  GuestRoot g(s.conf(2, true));
  try {
    unlock::run_unlock(core::Root(g.root), g.request, g.runner);
    FAIL("sample evidence released a key");
  } catch (const core::Failure& f) {
    CHECK_THAT(f.error().message, Catch::Contains("HTTP 403"));
  }
  auto lines = s.attest_lines();
  REQUIRE(lines.size() == 2);
  for (const auto& l : lines) {
    CHECK(l["status"] == 403);
    CHECK(l["check"] == "evidence");
    CHECK(l["evidence"] == "sample");
  }
}

TEST_CASE("a production unlock.conf never sends sample evidence, nor does a TD with configfs-tsm", "[keys]") {
  Served s(true);
  {
    GuestRoot g(s.conf(2, false)); // TDX_INSECURE_SAMPLE_EVIDENCE=0, no configfs-tsm
    try {
      unlock::run_unlock(core::Root(g.root), g.request, g.runner);
      FAIL("unlocked without evidence");
    } catch (const core::Failure& f) {
      CHECK_THAT(f.error().message, Catch::Contains("configfs-tsm"));
    }
    CHECK(s.attest_lines().empty()); // nothing was posted at all
  }
  {
    GuestRoot g(s.conf(1, true)); // setting on, but this kernel has configfs-tsm
    test::TsmEmulator tsm(g.root, "unlock0", test::sample_quote());
    g.request.tsm_entry = "unlock0";
    CHECK_THROWS(unlock::run_unlock(core::Root(g.root), g.request, g.runner));
    auto lines = s.attest_lines();
    REQUIRE(lines.size() == 1);
    CHECK(lines[0]["evidence"] == "quote");
    // Bound (the emulator writes REPORTDATA), so the signature check is what fails.
    CHECK(lines[0]["check"] == "verification");
    CHECK(tsm.quotes_served() == 1);
  }
}

TEST_CASE("keys serve: an unknown VM gets 404 and the client stops at once", "[keys]") {
  Served s(true);
  GuestRoot g(s.conf(5, true));
  test::put(g.root, "run/tdx-config/hostname", "tdx-node-9\n");
  test::bind_config_volume(g.root);
  try {
    unlock::run_unlock(core::Root(g.root), g.request, g.runner);
    FAIL("unlocked an unknown VM");
  } catch (const core::Failure& f) {
    CHECK(f.error().code == "unlock.not_found");
  }
  CHECK(g.sleeps.empty());
  auto lines = s.attest_lines();
  REQUIRE(lines.size() == 1);
  CHECK(lines[0]["status"] == 404);
  CHECK(lines[0]["decision"] == "unknown_vm");
}

TEST_CASE("keys serve: a client over its rate gets 429 and backs off", "[keys]") {
  Served s(true, 1); // one request at once, then 0.001/s
  GuestRoot g(s.conf(2, true));
  CHECK_THROWS(unlock::run_unlock(core::Root(g.root), g.request, g.runner));
  auto lines = s.attest_lines();
  REQUIRE(lines.size() == 1);
  CHECK(lines[0]["status"] == 429);
  CHECK(lines[0]["decision"] == "rate_limited");
  CHECK(g.sleeps == std::vector<long>{2}); // 429: attempt*2 s
}

TEST_CASE("keys serve: --listen takes ADDRESS:PORT only", "[keys]") {
  CHECK(keys::parse_listen_address("0.0.0.0:8443")->port == 8443);
  CHECK(keys::parse_listen_address("[::1]:443")->host == "::1");
  CHECK(keys::parse_listen_address("[::1]:443")->to_string() == "[::1]:443");
  for (const char* bad : {"8443", "localhost:8443", "1.2.3.4:", "1.2.3.4:99999", "1.2.3.4:80x", ":8443"})
    CHECK_FALSE(keys::parse_listen_address(bad));
}
