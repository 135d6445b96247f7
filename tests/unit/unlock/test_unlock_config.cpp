// unlock.conf parsing: the file the image build writes parses, and each kind
// of mistake is an error naming file:line and the key.
#include "tdxctl/unlock/unlock_config.hpp"
#include "tdxctl/unlock/vm_identity.hpp"

#include "support/fixtures.hpp"

#include <catch2/catch.hpp>

using namespace tdx;

namespace {
const char* good =
    "# tdxctl unlock settings, written by tdxctl image build; read in the initramfs.\n"
    "TDX_NONCE_ENDPOINT=https://keys.example.com:8443/nonce\n"
    "TDX_API_ENDPOINT='https://keys.example.com/attest?x=1&y=2'\n"
    "TDX_CA_CERT=/etc/tdxctl/unlock-ca.pem\n"
    "TDX_RETRY_COUNT=5\n"
    "TDX_TIMEOUT=12\n"
    "TDX_LUKS_UUID=6F1C2B3A-0000-4000-8000-1234567890ab\n"
    "TDX_LUKS_NAME=root\n";

// The volume's files as config_binding hands them on once checked.
unlock::ConfigBinding checked(std::initializer_list<std::pair<const char*, std::string>> files) {
  unlock::ConfigBinding b;
  b.dir = "/run/tdxctl/config";
  for (const auto& [name, content] : files) b.checked.push_back({name, 0644, core::Secret(content)});
  return b;
}

std::string error_of(const std::string& text) {
  auto r = unlock::parse_unlock_config(text, "unlock.conf");
  REQUIRE_FALSE(r);
  CHECK(r.error().category == core::Category::invalid_input);
  return r.error().message;
}
} // namespace

TEST_CASE("unlock.conf as the image build writes it", "[unlock]") {
  auto c = unlock::parse_unlock_config(good, "unlock.conf");
  REQUIRE(c);
  CHECK(c->nonce_endpoint == "https://keys.example.com:8443/nonce");
  CHECK(c->api_endpoint == "https://keys.example.com/attest?x=1&y=2");
  CHECK(c->ca_cert == "/etc/tdxctl/unlock-ca.pem");
  CHECK(c->retries == 5);
  CHECK(c->timeout_s == 12);
  CHECK(c->luks_uuid == "6F1C2B3A-0000-4000-8000-1234567890ab");
  // An empty CA means the system store; defaults for the rest.
  auto d = unlock::parse_unlock_config("TDX_NONCE_ENDPOINT=https://a/n\nTDX_API_ENDPOINT=\"https://a/b\"\nTDX_CA_CERT=\n",
                                       "u");
  REQUIRE(d);
  CHECK(d->ca_cert.empty());
  CHECK(d->retries == 3);
  CHECK(d->timeout_s == 30);
  CHECK(d->luks_name == "root");
}

TEST_CASE("unlock.conf errors name the line and the key", "[unlock]") {
  std::string base = "TDX_NONCE_ENDPOINT=https://a/n\nTDX_API_ENDPOINT=https://a/b\n";
  CHECK_THAT(error_of(base + "TDX_RETRIES=3\n"), Catch::Contains("unlock.conf:3") && Catch::Contains("unknown key TDX_RETRIES"));
  CHECK_THAT(error_of("TDX_NONCE_ENDPOINT=http://a/n\nTDX_API_ENDPOINT=https://a/b\n"),
             Catch::Contains("unlock.conf:1") && Catch::Contains("not an https:// URL"));
  CHECK_THAT(error_of(base + "TDX_RETRY_COUNT=0\n"), Catch::Contains(":3: TDX_RETRY_COUNT") && Catch::Contains("from 1 to 100"));
  CHECK_THAT(error_of(base + "TDX_TIMEOUT=30s\n"), Catch::Contains(":3: TDX_TIMEOUT"));
  CHECK_THAT(error_of(base + "TDX_TIMEOUT=3601\n"), Catch::Contains("from 1 to 3600"));
  CHECK_THAT(error_of(base + "TDX_API_ENDPOINT=https://c/d\n"), Catch::Contains(":3: TDX_API_ENDPOINT is set twice"));
  CHECK_THAT(error_of(base + "TDX_LUKS_UUID=vda1\n"), Catch::Contains(":3: TDX_LUKS_UUID") && Catch::Contains("not a UUID"));
  CHECK_THAT(error_of(base + "TDX_LUKS_NAME=a/b\n"), Catch::Contains("device-mapper name"));
  CHECK_THAT(error_of(base + "TDX_CA_CERT=ca.pem\n"), Catch::Contains("absolute path"));
  CHECK_THAT(error_of(base + "TDX_CA_CERT=$HOME/ca.pem\n"), Catch::Contains("needs quoting"));
  CHECK_THAT(error_of(base + "TDX_CA_CERT=\"/a/$X\"\n"), Catch::Contains("single quotes"));
  CHECK_THAT(error_of(base + "TDX_TIMEOUT = 3\n"), Catch::Contains(":3: no spaces"));
  CHECK_THAT(error_of(base + "just words\n"), Catch::Contains(":3: expected KEY=VALUE"));
  CHECK_THAT(error_of("TDX_API_ENDPOINT=https://a/b\n"), Catch::Contains("TDX_NONCE_ENDPOINT is required"));
  CHECK_THAT(error_of("TDX_NONCE_ENDPOINT=https:///n\nTDX_API_ENDPOINT=https://a/b\n"), Catch::Contains("has no host"));
}

TEST_CASE("unlock.conf names the containerd disk by its serial", "[unlock]") {
  std::string base = "TDX_NONCE_ENDPOINT=https://a/n\nTDX_API_ENDPOINT=https://a/b\n";
  auto none = unlock::parse_unlock_config(base, "u");
  REQUIRE(none);
  CHECK(none->containerd_disk.empty());
  auto c = unlock::parse_unlock_config(base + "TDX_CONTAINERD_DISK=td-containerd\nTDX_CONTAINERD_NAME=containerd-cache\n", "u");
  REQUIRE(c);
  CHECK(c->containerd_disk == "td-containerd");
  CHECK(c->containerd_name == "containerd-cache");
  CHECK_THAT(error_of(base + "TDX_CONTAINERD_DISK=/dev/vdd\n"),
             Catch::Contains(":3: TDX_CONTAINERD_DISK") && Catch::Contains("not a disk serial"));
  CHECK_THAT(error_of(base + "TDX_CONTAINERD_DISK=td-containerd-volume-1\n"), Catch::Contains("not a disk serial"));
  CHECK_THAT(error_of(base + "TDX_CONTAINERD_NAME=../x\n"), Catch::Contains("device-mapper name"));
}

TEST_CASE("unlock.conf that cannot be read names the path", "[unlock]") {
  auto r = unlock::load_unlock_config("/nonexistent/unlock.conf");
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message, Catch::Contains("/nonexistent/unlock.conf"));
}

TEST_CASE("vm_name and hotkey are sanitised as today's initramfs does", "[unlock]") {
  CHECK(unlock::sanitise_vm_name(" miner-01\n") == "miner-01");
  CHECK(unlock::sanitise_vm_name("a b_c.d") == "ab_c"); // whitespace removed, cut at '.'
  CHECK(unlock::sanitise_vm_name(".x") == "");
  CHECK(unlock::sanitise_hotkey(" 5Grw\t\n") == "5Grw");
  CHECK(unlock::sanitise_hotkey("5Grw va\r\nEF") == "5GrwvaEF");

  const std::string ss58 = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY\n";
  auto id = unlock::vm_identity_from(checked({{"hostname", "tdx-node-7\n"}, {"miner-ss58", ss58}}));
  REQUIRE(id);
  CHECK(id->vm_name == "tdx-node-7");
  CHECK(id->miner_hotkey == "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY");
  auto bad = unlock::vm_identity_from(checked({{"hostname", "...\n"}, {"miner-ss58", ss58}}));
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message, Catch::Contains("/run/tdxctl/config/hostname"));
  auto missing = unlock::vm_identity_from(checked({{"miner-ss58", ss58}}));
  REQUIRE_FALSE(missing);
  CHECK(missing.error().category == core::Category::not_ready);
  CHECK_THAT(missing.error().message, Catch::Contains("/run/tdxctl/config/hostname does not exist"));
}

TEST_CASE("a hostile miner-ss58 on the config volume is refused before it is used", "[unlock]") {
  // The host writes the volume: shell text, terminal escapes or a mistyped
  // address must not reach the key service or /run/chutes/hotkey.
  for (std::string hostile : {std::string("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehX$(reboot)Y\n"),
                              std::string("5GrwvaEF5zXb26Fz9rcQpDWS\x1b]2;owned\x07PDWS57CtERHpNehXCPcNo\n"),
                              std::string("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQZ\n"), // checksum
                              std::string("15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5\n")}) { // network
    INFO(hostile);
    auto id = unlock::vm_identity_from(checked({{"hostname", "tdx-node-7\n"}, {"miner-ss58", hostile}}));
    REQUIRE_FALSE(id);
    CHECK(id.error().code == "unlock.hotkey");
    CHECK(id.error().category == core::Category::invalid_input);
    CHECK_THAT(id.error().message, Catch::Contains("miner-ss58: the value"));
    CHECK(id.error().message.find('\x1b') == std::string::npos);
  }
}

TEST_CASE("TDX_INSECURE_SAMPLE_EVIDENCE is 0 or 1, off unless set", "[unlock]") {
  CHECK_FALSE(unlock::parse_unlock_config(good, "unlock.conf")->insecure_sample_evidence);
  CHECK(unlock::parse_unlock_config(std::string(good) + "TDX_INSECURE_SAMPLE_EVIDENCE=1\n", "unlock.conf")
            ->insecure_sample_evidence);
  CHECK_FALSE(unlock::parse_unlock_config(std::string(good) + "TDX_INSECURE_SAMPLE_EVIDENCE=0\n", "unlock.conf")
                  ->insecure_sample_evidence);
  for (const char* v : {"yes", "true", "", "2", "'1 '"})
    CHECK_THAT(error_of(std::string(good) + "TDX_INSECURE_SAMPLE_EVIDENCE=" + v + "\n"),
               Catch::Contains("unlock.conf:9: TDX_INSECURE_SAMPLE_EVIDENCE") && Catch::Contains("not 0 or 1"));
}
