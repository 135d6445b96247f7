// The whole unlock sequence in process, against the loopback key-release
// stand-in (mTLS, test CA), an emulated configfs-tsm entry and a real LUKS2
// header; the back-off sleep is recorded instead of slept.
#include "tdxctl/unlock/client_identity.hpp"
#include "tdxctl/unlock/key_release.hpp"
#include "tdxctl/unlock/luks_open.hpp"
#include "tdxctl/unlock/unlock.hpp"

#include "support/fixtures.hpp"
#include "support/unlock_fixtures.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <set>

using namespace tdx;
namespace fs = std::filesystem;

namespace {

constexpr const char* k_uuid = "3b0d7c4e-9a51-4f2e-8c6d-2f1e0a9b8c7d";

struct Rig {
  core::TempDir tmp;
  fs::path root = tmp / "root";
  test::TestPki pki = test::make_test_pki(tmp.path(), "keys");
  test::KeyReleaseStub stub{pki};
  std::unique_ptr<test::TsmEmulator> tsm;
  std::vector<long> sleeps;
  unlock::UnlockRequest request;
  core::RecordingRunner runner; // no containerd volume here: nothing to run

  explicit Rig(int retries = 3, const std::string& luks_key = "correct horse battery staple") {
    fs::create_directories(root);
    tsm = std::make_unique<test::TsmEmulator>(root, "unlock0", test::sample_quote());
    test::make_luks_device(root, k_uuid, luks_key);
    test::put(root, "run/tdx-config/hostname", "tdx-node-7\n");
    test::put(root, "run/tdx-config/miner-ss58", "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY\n");
    test::bind_config_volume(root);
    write_conf(retries, pki.ca_cert);
    request.config_file = tmp / "unlock.conf";
    request.luks_uuid = k_uuid;
    request.test_passphrase = true;
    request.tsm_entry = "unlock0";
    request.device_wait = std::chrono::milliseconds(0);
    request.sleep = [this](std::chrono::seconds s) { sleeps.push_back(s.count()); };
  }
  void write_conf(int retries, const fs::path& ca) {
    test::put(tmp.path(), "unlock.conf",
              "TDX_NONCE_ENDPOINT=" + stub.url("/nonce") + "\nTDX_API_ENDPOINT=" + stub.url("/attest") +
                  "\nTDX_CA_CERT=" + ca.string() + "\nTDX_RETRY_COUNT=" + std::to_string(retries) +
                  "\nTDX_TIMEOUT=5\n");
  }
  core::Error failure() {
    try {
      unlock::run_unlock(core::Root(root), request, runner);
    } catch (const core::Failure& f) {
      return f.error();
    }
    FAIL("run_unlock succeeded");
    return {};
  }
  std::string slurp(const std::string& p) { return core::value_or_throw(core::read_file(root / p)); }
};

} // namespace

TEST_CASE("client identity: SPKI digest matches the certificate", "[unlock]") {
  auto id = unlock::make_client_identity("tdx-vm-1");
  REQUIRE(id);
  CHECK_THAT(id->cert_pem, Catch::StartsWith("-----BEGIN CERTIFICATE-----"));
  CHECK_THAT(std::string(id->key_pem.reveal()), Catch::StartsWith("-----BEGIN PRIVATE KEY-----"));
  auto again = unlock::spki_sha256_of_cert(id->cert_pem);
  REQUIRE(again);
  CHECK(*again == id->spki_sha256);
  auto other = unlock::make_client_identity("tdx-vm-1");
  CHECK(other->spki_sha256 != id->spki_sha256); // a fresh key every run
}

TEST_CASE("nonce answers are validated", "[unlock]") {
  std::string hex(64, 'a');
  CHECK(*unlock::parse_nonce_response("{\"nonce\":\"" + hex + "\"}") == hex);
  CHECK_FALSE(unlock::parse_nonce_response("{\"nonce\":\"abc\"}"));
  CHECK_FALSE(unlock::parse_nonce_response("{\"nonce\":\"" + std::string(63, 'a') + "g\"}"));
  CHECK_FALSE(unlock::parse_nonce_response("{\"nonce\":42}"));
  CHECK_FALSE(unlock::parse_nonce_response("nonce=" + hex));
  std::array<uint8_t, 32> spki{};
  spki.fill(0xee);
  auto rd = unlock::unlock_report_data(std::string(62, '0') + "01", spki);
  REQUIRE(rd);
  CHECK((*rd)[31] == 1);
  CHECK((*rd)[32] == 0xee);
  CHECK((*rd)[63] == 0xee);
}

TEST_CASE("unlock: key released, checked against the LUKS header, /run/chutes written", "[unlock]") {
  Rig rig;
  auto report = unlock::run_unlock(core::Root(rig.root), rig.request, rig.runner);
  auto seen = rig.stub.seen();
  CHECK(seen.nonce_requests == 1);
  CHECK(seen.attest_requests == 1);
  REQUIRE(seen.verified.size() == 1); // REPORTDATA bound the nonce and this TLS client
  CHECK(seen.problems.empty());
  CHECK(seen.client_cert_seen);
  CHECK(seen.vm_name == "tdx-node-7");
  CHECK(seen.miner_hotkey == "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY");
  CHECK(seen.user_agent == "TDX-LUKS-Client/1.0");
  CHECK(seen.content_type == "application/json");
  CHECK(rig.tsm->quotes_served() == 1);
  CHECK(report.luks.keyslot == 0);
  CHECK_FALSE(report.luks.activated);
  CHECK(report.attempts.size() == 1);
  CHECK(rig.slurp("run/chutes/vm-name") == "tdx-node-7");
  CHECK(rig.slurp("run/chutes/hotkey") == "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY");
  CHECK(rig.slurp("run/chutes/boot-token") == "bt-0123456789");
  struct stat st{};
  REQUIRE(::stat((rig.root / "run/chutes/boot-token").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(::stat((rig.root / "run/chutes").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  auto doc = report.to_json().dump();
  CHECK(doc.find("correct horse") == std::string::npos);
  CHECK(doc.find("bt-0123456789") == std::string::npos);
  CHECK(rig.sleeps.empty());
}

TEST_CASE("unlock: no boot token gives an empty boot-token file", "[unlock]") {
  Rig rig;
  rig.stub.boot_token.reset();
  auto report = unlock::run_unlock(core::Root(rig.root), rig.request, rig.runner);
  CHECK_FALSE(report.boot_token);
  CHECK(rig.slurp("run/chutes/boot-token").empty());
}

TEST_CASE("unlock: 404 stops after one attempt", "[unlock]") {
  Rig rig(5);
  rig.stub.attest_statuses = {404};
  auto e = rig.failure();
  CHECK(e.code == "unlock.not_found");
  CHECK(e.category == core::Category::failed);
  CHECK_THAT(e.message, Catch::Contains("POST " + rig.stub.url("/attest")) && Catch::Contains("HTTP 404") &&
                            Catch::Contains("attempt 1 of 5"));
  CHECK(rig.stub.seen().attest_requests == 1);
  CHECK(rig.sleeps.empty());
  CHECK_FALSE(fs::exists(rig.root / "run/chutes"));
}

TEST_CASE("unlock: 429 backs off attempt*2 seconds, then 200", "[unlock]") {
  Rig rig;
  rig.stub.attest_statuses = {429, 429};
  auto report = unlock::run_unlock(core::Root(rig.root), rig.request, rig.runner);
  CHECK(rig.sleeps == std::vector<long>{2, 4});
  CHECK(report.attempts.size() == 3);
  CHECK(report.attempts[0].http_status == 429);
  auto seen = rig.stub.seen();
  CHECK(seen.nonce_requests == 3);
  CHECK(seen.verified.size() == 3);
}

TEST_CASE("unlock: 500 on every attempt exhausts the retries with a fresh nonce each time", "[unlock]") {
  Rig rig(4);
  rig.stub.attest_statuses = {500, 500, 500, 500};
  auto e = rig.failure();
  CHECK_THAT(e.message, Catch::Contains("after 4 attempts") && Catch::Contains("HTTP 500") &&
                            Catch::Contains("attempt 4 of 4"));
  auto seen = rig.stub.seen();
  CHECK(seen.attest_requests == 4);
  REQUIRE(seen.nonces.size() == 4);
  CHECK(std::set<std::string>(seen.nonces.begin(), seen.nonces.end()).size() == 4);
  CHECK(seen.verified == seen.nonces); // every quote bound its own nonce
  CHECK(rig.sleeps == std::vector<long>{2, 2, 2});
  CHECK(rig.tsm->quotes_served() == 4);
}

TEST_CASE("unlock: a malformed nonce fails the attempt without a quote", "[unlock]") {
  Rig rig(2);
  rig.stub.nonce_bodies = {"{\"nonce\":\"xyz\"}", "{\"nonce\":\"" + std::string(64, 'Z') + "\"}"};
  auto e = rig.failure();
  CHECK_THAT(e.message, Catch::Contains("GET " + rig.stub.url("/nonce")) && Catch::Contains("64 hex digits") &&
                            Catch::Contains("attempt 2 of 2"));
  CHECK(rig.stub.seen().attest_requests == 0);
  CHECK(rig.tsm->quotes_served() == 0);
}

TEST_CASE("unlock: a server certificate from another CA is a TLS failure", "[unlock]") {
  Rig rig(2);
  auto other = test::make_test_pki(rig.tmp.path(), "other");
  rig.write_conf(2, other.ca_cert);
  auto e = rig.failure();
  CHECK(e.code == "unlock.transport");
  CHECK(e.category == core::Category::not_ready);
  CHECK_THAT(e.message, Catch::Contains("GET " + rig.stub.url("/nonce")) && Catch::Contains("attempt 2 of 2"));
  CHECK_THAT(e.hint, Catch::Contains("TDX_CA_CERT"));
  CHECK(rig.stub.seen().nonce_requests == 0);
}

TEST_CASE("unlock: a released key that opens no keyslot", "[unlock]") {
  Rig rig(3, "another key entirely");
  auto e = rig.failure();
  CHECK(e.code == "unlock.wrong_key");
  CHECK_THAT(e.message, Catch::Contains(k_uuid));
  CHECK(rig.stub.seen().attest_requests == 1); // no retry: the service answered
  CHECK_FALSE(fs::exists(rig.root / "run/chutes"));
}

TEST_CASE("unlock: missing device and UUID mismatch fail before any request", "[unlock]") {
  Rig rig;
  rig.request.luks_uuid = "00000000-0000-4000-8000-000000000000";
  auto e = rig.failure();
  CHECK(e.code == "unlock.no_device");
  CHECK(e.category == core::Category::not_ready);
  CHECK(rig.stub.seen().nonce_requests == 0);
  // A by-uuid link that points at a header with another UUID.
  fs::create_symlink("../../vdb2", rig.root / "dev/disk/by-uuid/00000000-0000-4000-8000-000000000000");
  core::Secret key("correct horse battery staple");
  auto r = unlock::open_luks(core::Root(rig.root), {"00000000-0000-4000-8000-000000000000", "root", true, {}}, key);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == "unlock.uuid_mismatch");
}

TEST_CASE("unlock: a 120k-deep JSON reply is a named error, not a stack overflow", "[unlock]") {
  // 240 KB of nested arrays (under the 256 KiB body cap) once crashed the
  // recursive wipe of the parsed reply; now the parse refuses it by depth.
  Rig rig(2);
  std::string deep = std::string(120000, '[') + std::string(120000, ']');
  rig.stub.attest_body = deep;
  rig.stub.nonce_bodies = {deep}; // the first attempt's nonce answer is just as deep
  auto e = rig.failure();
  CHECK(e.code == "unlock.bad_response");
  CHECK_THAT(e.message, Catch::Contains("POST " + rig.stub.url("/attest")) &&
                            Catch::Contains("nested deeper than 64 levels at byte offset 64") &&
                            Catch::Contains("attempt 2 of 2"));
  auto seen = rig.stub.seen();
  CHECK(seen.nonce_requests == 2);
  CHECK(seen.attest_requests == 1); // the deep nonce answer stopped attempt 1 before a quote
  CHECK_FALSE(fs::exists(rig.root / "run/chutes"));
}

TEST_CASE("unlock: a hostile miner-ss58 stops the unlock before any request or file", "[unlock]") {
  Rig rig;
  test::put(rig.root, "run/tdx-config/miner-ss58", "5GrwvaEF5zXb26Fz9rcQpDWS57C;reboot;\x1b]2;x\x07HNehXCPcNoHGK\n");
  // A host that also declares the hostile volume's MRCONFIGID: the binding
  // holds, so the value check is what must stop it.
  test::bind_config_volume(rig.root);
  auto e = rig.failure();
  CHECK(e.code == "unlock.hotkey");
  CHECK(e.category == core::Category::invalid_input);
  CHECK(rig.stub.seen().nonce_requests == 0);
  CHECK_FALSE(fs::exists(rig.root / "run/chutes/hotkey"));
}
