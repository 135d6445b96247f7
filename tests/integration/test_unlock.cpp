// tdxctl-guest / tdxctl unlock through the real binaries against the
// loopback key-release stand-in (mTLS, test CA), an emulated configfs-tsm
// entry and a real LUKS2 header; the premount script's netplan reader run
// by /bin/sh on the file `volume config` writes; the guest binary's links.
#include "support/fixtures.hpp"
#include "support/unlock_fixtures.hpp"

#include "tdxctl/core/runner.hpp"
#include "tdxctl/core/secret.hpp"
#include "tdxctl/image/templates.hpp"
#include "tdxctl/image/unlock_conf.hpp"
#include "tdxctl/unlock/containerd_volume.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <sys/stat.h>

using namespace tdx;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* k_uuid = "5d2e1f0a-7b6c-4d5e-9f8a-0b1c2d3e4f5a";
const std::string k_key = "a LUKS passphrase released by the service";

core::Completed run_guest(const std::vector<std::string>& args) {
  core::RealRunner runner;
  core::Command cmd;
  cmd.argv = {TDXCTL_GUEST_BINARY};
  cmd.argv.insert(cmd.argv.end(), args.begin(), args.end());
  auto r = runner.run(cmd);
  REQUIRE(r);
  return *r;
}

struct Guest {
  core::TempDir tmp;
  fs::path root = tmp / "root";
  test::TestPki pki = test::make_test_pki(tmp.path(), "keys");
  test::KeyReleaseStub stub{pki};
  std::unique_ptr<test::TsmEmulator> tsm;
  fs::path conf = tmp / "unlock.conf";

  fs::path volume = root / "run/tdx-config";
  core::Bytes mr_config_id;

  explicit Guest(const std::string& luks_key = k_key) {
    fs::create_directories(root);
    test::make_luks_device(root, k_uuid, luks_key);
    test::put(root, "run/tdx-config/hostname", "tdx-node-3\n");
    test::put(root, "run/tdx-config/miner-ss58", "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty\n");
    fs::permissions(volume / "miner-ss58", fs::perms::owner_read | fs::perms::owner_write);
    bind(test::bind_config_volume(root));
    stub.key = k_key;
    config(pki.ca_cert, 2);
  }
  // The TD was launched with this MRCONFIGID: the TDX module reports it, and
  // the quotes carry it.
  void bind(const core::Bytes& value) {
    mr_config_id = value;
    test::set_mr_config_id(root, value);
    tsm.reset();
    fs::remove_all(root / "sys/kernel/config/tsm/report/unlock0");
    tsm = std::make_unique<test::TsmEmulator>(root, "unlock0", test::with_mr_config_id(test::sample_quote(), value));
  }
  void config(const fs::path& ca, int retries, const std::string& extra = {}) {
    test::put(tmp.path(), "unlock.conf",
              "TDX_NONCE_ENDPOINT=" + stub.url("/nonce") + "\nTDX_API_ENDPOINT=" + stub.url("/attest") +
                  "\nTDX_CA_CERT=" + ca.string() + "\nTDX_RETRY_COUNT=" + std::to_string(retries) +
                  "\nTDX_TIMEOUT=5\nTDX_LUKS_UUID=" + k_uuid + "\n" + extra);
  }
  std::vector<std::string> args(std::vector<std::string> more = {}) {
    std::vector<std::string> a{"--root", root.string(), "unlock", "--config", conf.string(), "--test-passphrase",
                               "--tsm-entry", "unlock0", "--device-timeout", "0"};
    a.insert(a.end(), more.begin(), more.end());
    return a;
  }
};

std::string slurp(const fs::path& p) { return core::value_or_throw(core::read_file(p)); }

} // namespace

TEST_CASE("tdxctl-guest unlock: attested key checks against the LUKS header", "[unlock][integration]") {
  Guest g;
  auto r = run_guest(g.args({"-o", "json"}));
  INFO(r.err);
  REQUIRE(r.exit_status == 0);
  auto doc = json::parse(r.out);
  CHECK(doc["schema"] == "tdxctl.unlock/1");
  CHECK(doc["luks_uuid"] == k_uuid);
  CHECK(doc["luks"]["keyslot"] == 0);
  CHECK(doc["luks"]["activated"] == false);
  CHECK(doc["test_passphrase"] == true);
  CHECK(doc["vm_name"] == "tdx-node-3");
  CHECK(doc["boot_token"] == true);
  CHECK(doc["attempts"].size() == 1);
  CHECK(doc["config"]["sha384"] == core::to_hex(g.mr_config_id));
  CHECK(doc["config"]["mr_config_id"] == core::to_hex(g.mr_config_id));
  CHECK(doc["config"]["files"] == json::array({"hostname", "miner-ss58"}));
  auto seen = g.stub.seen();
  CHECK(seen.verified.size() == 1);
  CHECK(seen.problems.empty());
  // The key and boot token reach neither stdout nor the logs.
  for (const auto* text : {&r.out, &r.err}) {
    CHECK(text->find(k_key) == std::string::npos);
    CHECK(text->find("bt-0123456789") == std::string::npos);
  }
  CHECK(slurp(g.root / "run/chutes/vm-name") == "tdx-node-3");
  CHECK(slurp(g.root / "run/chutes/boot-token") == "bt-0123456789");
  struct stat st{};
  REQUIRE(::stat((g.root / "run/chutes/hotkey").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
}

TEST_CASE("tdxctl unlock: failures and their exit codes", "[unlock][integration]") {
  SECTION("a key that opens no keyslot exits 1") {
    Guest g("the image was built with this other key");
    auto r = test::run_tdxctl(g.args());
    CHECK(r.exit_status == 1);
    CHECK_THAT(r.err, Catch::Contains("opens no keyslot") && Catch::Contains(k_uuid));
    CHECK(r.err.find(k_key) == std::string::npos);
    CHECK_FALSE(fs::exists(g.root / "run/chutes"));
  }
  SECTION("404 stops after one attempt and exits 1") {
    Guest g;
    g.config(g.pki.ca_cert, 5);
    g.stub.attest_statuses = {404};
    auto r = run_guest(g.args({"-o", "json"}));
    CHECK(r.exit_status == 1);
    CHECK(json::parse(r.out)["code"] == "unlock.not_found");
    CHECK_THAT(r.err, Catch::Contains("HTTP 404 (attempt 1 of 5)"));
    CHECK(g.stub.seen().attest_requests == 1);
  }
  SECTION("a server certificate from another CA exits 3") {
    Guest g;
    auto other = test::make_test_pki(g.tmp.path(), "other");
    g.config(other.ca_cert, 1);
    auto r = run_guest(g.args());
    CHECK(r.exit_status == 3);
    CHECK_THAT(r.err, Catch::Contains("SSL certificate problem") && Catch::Contains("TDX_CA_CERT"));
  }
  SECTION("a CA trusted system-wide does not stand in for TDX_CA_CERT") {
    // The key service's CA sits in libcurl's default CApath (/etc/ssl/certs,
    // in a private mount namespace) and TDX_CA_CERT names another CA: the
    // guest used to consult both and hand its disk key to that server.
    Guest g;
    auto pinned = test::make_test_pki(g.tmp.path(), "pinned");
    g.config("", 1); // control: the system store alone trusts the service
    std::vector<std::string> argv{TDXCTL_GUEST_BINARY};
    for (const auto& a : g.args()) argv.push_back(a);
    auto open = test::run_with_system_ca(g.pki.ca_cert, argv, g.tmp.path());
    INFO(open.err);
    CHECK(open.exit_status == 0);
    CHECK(g.stub.seen().attest_requests == 1);
    fs::remove_all(g.root / "run/chutes");
    g.config(pinned.ca_cert, 1);
    auto r = test::run_with_system_ca(g.pki.ca_cert, argv, g.tmp.path());
    CHECK(r.exit_status == 3);
    CHECK_THAT(r.err, Catch::Contains("SSL certificate problem") && Catch::Contains("TDX_CA_CERT"));
    CHECK(g.stub.seen().nonce_requests == 1); // only the control's
    CHECK_FALSE(fs::exists(g.root / "run/chutes"));
  }
  SECTION("a bad unlock.conf exits 2 and names the line") {
    Guest g;
    g.config(g.pki.ca_cert, 1, "TDX_RETRIES=4\n");
    auto r = run_guest(g.args());
    CHECK(r.exit_status == 2);
    CHECK_THAT(r.err, Catch::Contains("unlock.conf:7") && Catch::Contains("unknown key TDX_RETRIES"));
    CHECK(g.stub.seen().nonce_requests == 0);
  }
  SECTION("no device with that UUID exits 3 before any request") {
    Guest g;
    auto r = run_guest(g.args({"--luks-uuid", "11111111-2222-4333-8444-555555555555"}));
    CHECK(r.exit_status == 3);
    CHECK_THAT(r.err, Catch::Contains("/dev/disk/by-uuid/11111111-2222-4333-8444-555555555555"));
    CHECK(g.stub.seen().nonce_requests == 0);
  }
}

// Issue 14 item 1: the host declares one MRCONFIGID and attaches another
// volume. The guest must refuse before it asks for a key or writes anything.
TEST_CASE("tdxctl-guest unlock: a config volume that does not match MRCONFIGID is refused", "[unlock][integration]") {
  Guest g;
  // Returns the error message.
  auto refused = [&](std::vector<std::string> more, const std::string& code) {
    more.insert(more.end(), {"-o", "json"});
    auto r = run_guest(g.args(more));
    INFO(r.out + r.err);
    CHECK(r.exit_status == 1);
    auto doc = json::parse(r.out);
    CHECK(doc["code"] == code);
    auto seen = g.stub.seen();
    CHECK(seen.nonce_requests == 0);
    CHECK(seen.attest_requests == 0);
    CHECK(g.tsm->quotes_served() == 0);
    CHECK_FALSE(fs::exists(g.root / "run/chutes"));
    return doc["message"].get<std::string>();
  };
  SECTION("another hotkey (the host swapped the volume)") {
    test::put(g.root, "run/tdx-config/miner-ss58", "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY\n");
    auto message = refused({}, "unlock.config_mismatch");
    CHECK_THAT(message, Catch::Contains(core::to_hex(g.mr_config_id)) &&
                            Catch::Contains(core::to_hex(test::manifest_digest(g.volume))));
  }
  SECTION("the same bytes with the hotkey readable by all") {
    fs::permissions(g.volume / "miner-ss58", fs::perms::others_read, fs::perm_options::add);
    refused({}, "unlock.config_mismatch");
  }
  SECTION("an extra file") {
    test::put(g.root, "run/tdx-config/authorized_keys", "ssh-ed25519 AAAA host\n");
    refused({}, "unlock.config_mismatch");
  }
  SECTION("a symbolic link the digest would not cover") {
    test::link(g.root, "run/tdx-config/network-config.yaml", "/etc/evil.yaml");
    CHECK_THAT(refused({}, "unlock.config_entry"), Catch::Contains("network-config.yaml is a symbolic link"));
  }
  SECTION("a file hidden in lost+found") {
    test::put(g.root, "run/tdx-config/lost+found/#12", "x");
    refused({}, "unlock.config_entry");
  }
  SECTION("the host bound no configuration (MRCONFIGID zero)") {
    g.bind(core::Bytes(48, 0));
    refused({}, "unlock.config_unbound");
  }
  SECTION("--verify-config-only refuses the same way") {
    test::put(g.root, "run/tdx-config/hostname", "other-node\n");
    refused({"--verify-config-only"}, "unlock.config_mismatch");
  }
}

TEST_CASE("tdxctl-guest unlock --verify-config-only: the premount check", "[unlock][integration]") {
  Guest g;
  fs::create_directory(g.volume / "lost+found"); // as mke2fs leaves it
  auto r = run_guest({"--root", g.root.string(), "unlock", "--verify-config-only", "-o", "json"});
  INFO(r.err);
  REQUIRE(r.exit_status == 0);
  auto doc = json::parse(r.out);
  CHECK(doc["schema"] == "tdxctl.unlock.config/1");
  CHECK(doc["sha384"] == core::to_hex(g.mr_config_id));
  CHECK(doc["mr_config_id_source"].get<std::string>().ends_with("measurements/mrconfigid"));
  CHECK(g.stub.seen().nonce_requests == 0);
  CHECK(g.tsm->quotes_served() == 0);

  SECTION("without the sysfs register the TDREPORT ioctl is tried, and its failure exits 3") {
    fs::remove(g.root / "sys/devices/virtual/misc/tdx_guest/measurements/mrconfigid");
    auto none = run_guest({"--root", g.root.string(), "unlock", "--verify-config-only", "-o", "json"});
    CHECK(none.exit_status == 3);
    auto error = json::parse(none.out);
    CHECK(error["code"] == "quote.mr_config_id_unavailable");
    CHECK_THAT(error["message"].get<std::string>(),
               Catch::Contains("measurements/mrconfigid is absent") && Catch::Contains("/dev/tdx_guest"));
    // A file is not the driver: the ioctl fails (ENOTTY) and nothing is guessed.
    test::put(g.root, "dev/tdx_guest", "");
    auto file = run_guest({"--root", g.root.string(), "unlock", "--verify-config-only"});
    CHECK(file.exit_status == 3);
    CHECK_THAT(file.err, Catch::Contains("TDX_CMD_GET_REPORT0"));
  }
}

// Issue 14 (TOCTOU): the premount script's sequence through the real
// binary. The check writes the bytes it read to a private copy; the host then
// rewrites its disk; the unlock run on the copy still sends the identity that
// was checked, and never reads the disk again.
TEST_CASE("tdxctl-guest: a config volume changed after the check is not used", "[unlock][integration]") {
  Guest g;
  auto check = run_guest({"--root", g.root.string(), "unlock", "--verify-config-only", "--config-dir",
                          "/run/tdx-config", "--config-copy", "/run/tdxctl/config", "-o", "json"});
  INFO(check.err);
  REQUIRE(check.exit_status == 0);
  CHECK(json::parse(check.out)["copy"] == (g.root / "run/tdxctl/config").string());

  test::put(g.root, "run/tdx-config/hostname", "evil-node\n");
  test::put(g.root, "run/tdx-config/miner-ss58", "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY\n");
  auto r = run_guest(g.args({"--config-dir", "/run/tdxctl/config", "-o", "json"}));
  INFO(r.err);
  REQUIRE(r.exit_status == 0);
  auto doc = json::parse(r.out);
  CHECK(doc["vm_name"] == "tdx-node-3");
  CHECK(doc["config"]["sha384"] == core::to_hex(g.mr_config_id));
  auto seen = g.stub.seen();
  CHECK(seen.vm_name == "tdx-node-3");
  CHECK(seen.miner_hotkey == "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty");
  CHECK(slurp(g.root / "run/chutes/vm-name") == "tdx-node-3");
  CHECK(slurp(g.root / "run/chutes/hotkey") == "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty");
  // The disk itself would now be refused.
  auto disk = run_guest({"--root", g.root.string(), "unlock", "--verify-config-only", "-o", "json"});
  CHECK(disk.exit_status == 1);
  // --config-copy belongs to the check; alone it is a usage error.
  auto alone = run_guest(g.args({"--config-copy", "/run/tdxctl/other"}));
  CHECK(alone.exit_status == 2);
  CHECK_FALSE(fs::exists(g.root / "run/tdxctl/other"));
}

// The digest the host binds (volume config create's PATH.sha384) is the one
// the guest computes over the volume as its kernel shows it: the real volume,
// dumped with debugfs (modes kept, lost+found included).
TEST_CASE("tdxctl-guest accepts the volume tdxctl made, bound by its PATH.sha384", "[unlock][integration]") {
  core::TempDir tmp;
  auto vol = tmp / "config.raw";
  auto made = test::run_tdxctl({"volume", "config", "create", "-o", vol.string(), "--format", "raw", "--hostname",
                                "miner-0", "--miner-ss58", "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY",
                                "--seed-file", "-", "--vm-ip", "192.168.100.2/24", "--gateway", "192.168.100.1",
                                "--dns", "1.1.1.1"},
                               std::string(64, 'a') + "\n");
  INFO(made.err);
  REQUIRE(made.exit_status == 0);
  auto sidecar = slurp(tmp / "config.raw.sha384");
  auto digest = core::value_or_throw(core::from_hex(sidecar.substr(0, 96)));
  auto root = tmp / "root";
  fs::create_directories(root / "run/tdx-config");
  core::RealRunner runner;
  auto dump = runner.run(core::Command{{"debugfs", "-R", "rdump / " + (root / "run/tdx-config").string(), vol.string()}});
  REQUIRE(dump);
  REQUIRE(dump->ok());
  REQUIRE(fs::is_directory(root / "run/tdx-config/lost+found"));
  CHECK(test::manifest_digest(root / "run/tdx-config") == digest);

  test::set_mr_config_id(root, digest);
  auto ok = run_guest({"--root", root.string(), "unlock", "--verify-config-only", "-o", "json"});
  INFO(ok.err);
  CHECK(ok.exit_status == 0);
  CHECK(json::parse(ok.out)["files"] ==
        json::array({"hostname", "miner-seed", "miner-ss58", "network-config.yaml"}));
  CHECK(ok.out.find(std::string(64, 'a')) == std::string::npos);

  auto other = digest;
  other[0] ^= 1;
  test::set_mr_config_id(root, other);
  CHECK(run_guest({"--root", root.string(), "unlock", "--verify-config-only"}).exit_status == 1);
}

TEST_CASE("tdxctl-guest links only the guest slice and generates quotes", "[unlock][integration]") {
  core::RealRunner runner;
  auto ldd = runner.run(core::Command{{"ldd", TDXCTL_GUEST_BINARY}});
  REQUIRE(ldd);
  REQUIRE(ldd->ok());
  CHECK_THAT(ldd->out, Catch::Contains("libcryptsetup") && Catch::Contains("libcurl"));
  for (const char* host_only : {"libvirt", "libguestfs", "libnl", "libnftables", "libyaml-cpp", "libxml2"})
    CHECK(ldd->out.find(host_only) == std::string::npos);
  auto help = run_guest({"--help"});
  CHECK_THAT(help.out, Catch::Contains("unlock") && Catch::Contains("quote"));
  CHECK(run_guest({"volume", "inspect", "x"}).exit_status == 2);

  core::TempDir root;
  test::TsmEmulator tsm(root.path(), "q0", test::sample_quote());
  std::string rd(128, 'c');
  auto q = run_guest({"--root", root.path().string(), "quote", "generate", "--report-data", rd, "--tsm-entry", "q0",
                      "-o", "json"});
  REQUIRE(q.exit_status == 0);
  auto bytes = core::value_or_throw(core::base64_decode(json::parse(q.out)["base64"].get<std::string>()));
  CHECK(core::to_hex(std::span<const uint8_t>(bytes.data() + 48 + 520, 64)) == rd);
}

namespace {
// The netplan_env function of the premount script, run by /bin/sh on `file`.
std::map<std::string, std::vector<std::string>> netplan_env(const std::string& yaml) {
  auto tmpl = slurp(test::tests_dir() / "../templates/image/unlock-premount.mustache");
  auto begin = tmpl.find("# BEGIN netplan_env"), end = tmpl.find("# END netplan_env");
  REQUIRE(begin != std::string::npos);
  REQUIRE(end != std::string::npos);
  core::TempDir dir;
  test::put(dir.path(), "network-config.yaml", yaml);
  core::RealRunner runner;
  auto r = runner.run(core::Command{{"sh", "-c", tmpl.substr(begin, end - begin) + "\nnetplan_env \"$1\"", "sh",
                                     (dir / "network-config.yaml").string()}});
  REQUIRE(r);
  REQUIRE(r->ok());
  std::map<std::string, std::vector<std::string>> out;
  std::istringstream in(r->out);
  for (std::string line; std::getline(in, line);) {
    auto eq = line.find('=');
    REQUIRE(eq != std::string::npos);
    if (eq + 1 < line.size()) out[line.substr(0, eq)].push_back(line.substr(eq + 1));
  }
  return out;
}
} // namespace

TEST_CASE("premount netplan reader: the volume's file, other layouts, hostile values", "[unlock][integration]") {
  // Exactly what templates/network-config.yaml.mustache renders.
  auto volume = netplan_env("network:\n  version: 2\n  ethernets:\n    any-ethernet:\n      match:\n        name: \"en*\"\n"
                            "      addresses:\n        - 10.0.2.15/24\n      routes:\n        - to: default\n"
                            "          via: 10.0.2.2\n      nameservers:\n        addresses:\n          - 10.0.2.3\n"
                            "          - 1.1.1.1\n");
  CHECK(volume["NET_ADDRESS"] == std::vector<std::string>{"10.0.2.15/24"});
  CHECK(volume["NET_GATEWAY"] == std::vector<std::string>{"10.0.2.2"});
  // Today's reader always lost the nameservers; these are kept, in order.
  CHECK(volume["NET_DNS"] == std::vector<std::string>{"10.0.2.3", "1.1.1.1"});

  auto other = netplan_env("network:\n  ethernets:\n    eth:\n      nameservers: {}\n      routes:\n"
                           "        - via: 192.168.1.1   # gateway\n          to: 0.0.0.0/0\n"
                           "      addresses: [\"192.168.1.20/24\", 192.168.1.21/24]\n  version: 2\n");
  CHECK(other["NET_ADDRESS"] == std::vector<std::string>{"192.168.1.20/24"});
  CHECK(other["NET_GATEWAY"] == std::vector<std::string>{"192.168.1.1"});
  CHECK(other.count("NET_DNS") == 0);

  auto dhcp = netplan_env("network:\n  version: 2\n  ethernets:\n    e:\n      dhcp4: true\n");
  CHECK(dhcp["NET_DHCP4"] == std::vector<std::string>{"true"});
  CHECK(dhcp.count("NET_ADDRESS") == 0);

  // The volume comes from the host: nothing that is not an address gets through.
  auto hostile = netplan_env("network:\n  ethernets:\n    e:\n      addresses:\n        - \"$(reboot)/24\"\n"
                             "        - 10.1.1.1/24; poweroff\n      nameservers:\n        addresses: [\"`id`\", 9.9.9.9]\n");
  CHECK(hostile.count("NET_ADDRESS") == 0);
  CHECK(hostile["NET_DNS"] == std::vector<std::string>{"9.9.9.9"});
}

TEST_CASE("the initramfs runs tdxctl-guest, never the host binary", "[unlock][integration]") {
  // As image build renders them for an image with the default volumes.
  auto values = image::unlock_template_values(image::UnlockSettings{}, "6f1c2b3a-0000-4000-8000-1234567890ab",
                                              {{"containerd-cache", "/c", "td-containerd", true}});
  auto hook = image::render_template("initramfs-hook", values);
  auto premount = image::render_template("unlock-premount", values);
  CHECK_THAT(hook, Catch::Contains("rm -f \"${DESTDIR}/sbin/mke2fs\"") && Catch::Contains("copy_exec /sbin/mke2fs"));
  CHECK_THAT(hook, Catch::Contains("copy_exec /usr/sbin/tdxctl-guest /sbin/tdxctl-guest"));
  CHECK(hook.find("copy_exec /usr/sbin/tdxctl ") == std::string::npos);
  CHECK_THAT(premount, Catch::Contains("/sbin/tdxctl-guest unlock") && Catch::Contains("mount -t configfs") &&
                           Catch::Contains("-o ro,noload") && Catch::Contains("poweroff -f"));
  // The volume is checked against MRCONFIGID after the mount and before the
  // network (its first reader) or the unlock use it; a failure powers off.
  // The check copies what it read to tmpfs and the disk is unmounted: the
  // network and the unlock read only that copy (issue 14, TOCTOU).
  auto mount = premount.find("\"$CONFIG_DEV\" \"$CONFIG_MNT\"");
  auto check = premount.find("/sbin/tdxctl-guest unlock --verify-config-only --config-dir \"$CONFIG_MNT\" "
                             "--config-copy \"$CONFIG\"");
  auto umount = premount.find("\numount \"$CONFIG_MNT\"\n", check);
  auto check_fail = premount.find("[ \"$rc\" -eq 0 ] || fail", check);
  auto network = premount.find("\nsetup_network\n");
  auto unlock = premount.find("/sbin/tdxctl-guest unlock --config");
  REQUIRE(mount != std::string::npos);
  REQUIRE(check != std::string::npos);
  CHECK(mount < check);
  CHECK(check < umount);
  CHECK(umount < check_fail);
  CHECK(check_fail < network);
  CHECK(network < unlock);
  CHECK(premount.find("\"$CONFIG/network-config.yaml\"") != std::string::npos);
  CHECK(premount.find("--config-dir \"$CONFIG\"", unlock) != std::string::npos);
  CHECK_THAT(premount, Catch::Contains("CONFIG=/run/tdxctl/config ") &&
                           Catch::Contains("CONFIG_DEV=/dev/disk/by-label/tdx-config\n"));
  // After the check, nothing names the mounted disk but its umount.
  const size_t after_umount = umount + std::string_view("\numount \"$CONFIG_MNT\"\n").size();
  for (auto at = premount.find("$CONFIG_MNT", after_umount); at != std::string::npos; at = premount.find("$CONFIG_MNT", at + 1))
    FAIL_CHECK("$CONFIG_MNT used after the check at offset " << at);
  CHECK(premount.find("/bin/sh -i") == std::string::npos);
}

// Issue 14 item 8: the containerd volume, encrypted by the TD with the second
// key in the release and found by the host's disk serial. This host has no
// device-mapper, so these runs use --test-passphrase: the same decision and
// key check, nothing written; the boot test (tests/boot) formats and opens it
// in a real guest kernel.
TEST_CASE("tdxctl-guest unlock: the containerd volume is formatted only when blank", "[unlock][integration]") {
  Guest g;
  const std::string containerd_key(64, 'c');
  g.stub.containerd_key = containerd_key;
  g.config(g.pki.ca_cert, 1, "TDX_CONTAINERD_DISK=td-containerd\nTDX_CONTAINERD_NAME=containerd\n");
  auto disk = g.root / "dev/vdd";
  auto make_disk = [&] {
    fs::remove(disk);
    std::ofstream(disk).close();
    fs::resize_file(disk, 64 << 20);
  };
  make_disk();
  fs::create_directories(g.root / "dev/disk/by-id");
  fs::create_symlink("../../vdd", g.root / "dev/disk/by-id/virtio-td-containerd");
  auto unlock = [&] {
    fs::remove_all(g.root / "run/chutes");
    auto r = run_guest(g.args({"-o", "json"}));
    INFO(r.out + r.err);
    for (const auto* text : {&r.out, &r.err}) CHECK(text->find(containerd_key) == std::string::npos);
    return std::pair{r.exit_status, json::parse(r.out)};
  };
  auto untouched = [&] { return slurp(disk); };

  SECTION("a blank disk would be formatted") {
    auto [rc, doc] = unlock();
    REQUIRE(rc == 0);
    CHECK(doc["containerd"]["would_format"] == true);
    CHECK(doc["containerd"]["device"] == disk.string());
    auto bytes = untouched();
    CHECK(std::all_of(bytes.begin(), bytes.end(), [](char c) { return c == 0; }));
  }
  SECTION("a LUKS disk made on first use opens with the key, and only with it") {
    auto uuid = core::value_or_throw(unlock::format_encrypted_volume(disk, core::Secret(containerd_key)));
    auto [rc, doc] = unlock();
    REQUIRE(rc == 0);
    CHECK(doc["containerd"]["would_format"] == false);
    CHECK(doc["containerd"]["luks_uuid"] == uuid);
    CHECK(doc["containerd"]["keyslot"] == 0);
    g.stub.containerd_key = std::string(64, 'd');
    auto [rc2, doc2] = unlock();
    CHECK(rc2 == 1);
    CHECK(doc2["code"] == "unlock.wrong_key");
    CHECK_THAT(doc2["message"].get<std::string>(), Catch::Contains("containerd key") && Catch::Contains(uuid));
  }
  SECTION("anything else is refused and left as it was") {
    auto refused = [&](const std::string& what) {
      auto before = untouched();
      auto [rc, doc] = unlock();
      CHECK(rc == 1);
      CHECK(doc["code"] == "unlock.volume_not_empty");
      CHECK_THAT(doc["message"].get<std::string>(), Catch::Contains(what));
      CHECK(untouched() == before);
    };
    // A filesystem carrying the label the old host tools wrote: a label never decides.
    core::RealRunner runner;
    core::run_checked(runner, {{"mke2fs", "-q", "-F", "-t", "ext4", "-L", "containerd-cache", disk.string()}}, "mke2fs");
    refused("ext4");
    make_disk();
    core::run_checked(runner, {{"sfdisk", "-q", disk.string()}, "label: gpt\n"}, "sfdisk");
    refused("gpt");
    for (uint64_t at : {uint64_t{4096}, uint64_t{(64 << 20) - 1}}) {
      make_disk();
      std::fstream f(disk, std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(static_cast<std::streamoff>(at));
      f.put('\x01');
      f.close();
      refused("data at byte " + std::to_string(at));
    }
  }
  SECTION("a release without the containerd key, a short key, a missing disk") {
    g.stub.containerd_key.reset();
    auto [rc, doc] = unlock();
    CHECK(rc == 1);
    CHECK(doc["code"] == "unlock.no_containerd_key");
    g.stub.containerd_key = "short";
    auto [rc2, doc2] = unlock();
    CHECK(rc2 == 1);
    CHECK(doc2["code"] == "unlock.volume_key_short");
    g.stub.containerd_key = containerd_key;
    fs::remove(g.root / "dev/disk/by-id/virtio-td-containerd");
    auto [rc3, doc3] = unlock();
    CHECK(rc3 == 3);
    CHECK_THAT(doc3["message"].get<std::string>(), Catch::Contains("virtio-td-containerd") &&
                                                                Catch::Contains("no disk with serial td-containerd"));
  }
}
