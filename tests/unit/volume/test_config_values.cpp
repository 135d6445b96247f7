// volume/config_values: the host-side rules are at least as strict as the
// guest's (process-config.py), and every problem is reported at once.
#include "tdxctl/volume/config_values.hpp"

#include "tdxctl/up/host_file.hpp"

#include "support/fixtures.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>

using namespace tdx;
using namespace tdx::volume;

static const char* k_alice = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
static const std::string k_seed(64, 'a');

TEST_CASE("volume: hostnames: the guest's rules plus lowercase") {
  CHECK(check_hostname("chutes-miner-tee-0"));
  CHECK(check_hostname(std::string(63, 'a')));
  CHECK_FALSE(check_hostname(std::string(64, 'a')));
  CHECK_FALSE(check_hostname("-lead"));
  CHECK_FALSE(check_hostname("trail-"));
  CHECK_FALSE(check_hostname("under_score"));
  CHECK_FALSE(check_hostname(""));
  auto upper = check_hostname("Miner");
  REQUIRE_FALSE(upper);
  CHECK(upper.error().message.find("uppercase") != std::string::npos);
}

TEST_CASE("volume: seeds: exactly 64 hex digits, no 0x, never echoed") {
  CHECK(check_seed(k_seed));
  CHECK(check_seed(std::string(64, 'F')));
  auto prefixed = check_seed("0x" + std::string(62, 'a'));
  REQUIRE_FALSE(prefixed);
  CHECK(prefixed.error().message.find("0x") != std::string::npos);
  auto short_seed = check_seed("abcdef");
  REQUIRE_FALSE(short_seed);
  CHECK(short_seed.error().message.find("abcdef") == std::string::npos);
  auto bad = check_seed(std::string(63, 'a') + "g");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message == "character 64 is not a hex digit");
}

TEST_CASE("volume: IPv4 with prefix: real syntax, no network or broadcast address") {
  auto ok = parse_ipv4_cidr("192.168.100.2/24");
  REQUIRE(ok);
  CHECK(ok->address == "192.168.100.2");
  CHECK(ok->prefix == 24);
  CHECK_FALSE(parse_ipv4_cidr("192.168.100.2"));
  CHECK_FALSE(parse_ipv4_cidr("999.1.1.1/24"));
  CHECK_FALSE(parse_ipv4_cidr("192.168.100.0/24"));
  CHECK_FALSE(parse_ipv4_cidr("192.168.100.255/24"));
  CHECK_FALSE(parse_ipv4_cidr("192.168.100.2/33"));
  CHECK_FALSE(parse_ipv4("1.2.3"));
}

TEST_CASE("volume: the host's resolvers skip a loopback stub and fall back to systemd-resolved's list") {
  core::TempDir dir;
  test::put(dir.path(), "etc/resolv.conf", "# stub\nnameserver 127.0.0.53\noptions edns0\n");
  test::put(dir.path(), "run/systemd/resolve/resolv.conf",
            "nameserver 10.0.0.2\nnameserver fe80::1\nnameserver 1.1.1.1\n");
  CHECK(host_resolvers(core::Root(dir.path())) == std::vector<std::string>{"10.0.0.2", "1.1.1.1"});
}

TEST_CASE("volume: resolve_config collects every problem and names the flag") {
  core::TempDir dir;
  test::put(dir.path(), "seed", "0x1234\n");
  ConfigInput in;
  in.hostname = "Bad_Host";
  in.miner_ss58 = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQZ";
  in.seed_file = (dir.path() / "seed").string();
  in.vm_ip = "192.168.100.2/24";
  in.gateway = "10.0.0.1";
  auto r = resolve_config(in, core::Root(dir.path()));
  REQUIRE_FALSE(r);
  const auto& m = r.error().message;
  CHECK(r.error().category == core::Category::invalid_input);
  CHECK(m.find("--hostname: character 1 ('B') is uppercase") != std::string::npos);
  CHECK(m.find("--miner-ss58: SS58 address: checksum mismatch") != std::string::npos);
  CHECK(m.find("--gateway: 10.0.0.1 is outside the VM's subnet 192.168.100.0/24") != std::string::npos);
  CHECK(m.find("--dns: required") != std::string::npos);
  CHECK(m.find("starts with '0x'") != std::string::npos);
  CHECK(m.find("1234") == std::string::npos); // the seed is never echoed
}

TEST_CASE("volume: resolve_config takes the seed from TDXCTL_MINER_SEED when no file is given") {
  core::TempDir dir;
  ConfigInput in{"miner-0", k_alice, "", "192.168.100.2/24", "192.168.100.1", {"8.8.8.8"}};
  ::setenv(k_seed_env, k_seed.c_str(), 1);
  auto r = resolve_config(in, core::Root(dir.path()));
  ::unsetenv(k_seed_env);
  REQUIRE(r);
  CHECK(r->miner_seed.reveal() == k_seed);
  CHECK(r->dns == std::vector<std::string>{"8.8.8.8"});
  auto missing = resolve_config(in, core::Root(dir.path()));
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message.find("TDXCTL_MINER_SEED is not set") != std::string::npos);
}

TEST_CASE("volume: host.yaml config: section: positions in errors, inline seeds refused, flags win") {
  core::TempDir dir;
  test::put(dir.path(), "host.yaml",
            "config:\n  hostname: UPPER\n  miner_seed: abc\n  vm_ip: 10.0.0.5\n  colour: red\n");
  try {
    up::load_host_file(dir.path() / "host.yaml", up::HostFileUse::config_volume);
    FAIL("expected an error");
  } catch (const core::Failure& f) {
    const auto& m = f.error().message;
    CHECK(m.find("host.yaml:2:13: key 'config.hostname'") != std::string::npos);
    CHECK(m.find("key 'config.miner_seed': the miner seed is not read from host.yaml") != std::string::npos);
    CHECK(m.find("key 'config.vm_ip'") != std::string::npos);
    CHECK(m.find("key 'config.colour': unknown key") != std::string::npos);
    CHECK(m.find("abc") == std::string::npos);
  }
  test::put(dir.path(), "good.yaml",
            std::string("config:\n  hostname: from-yaml\n  miner_ss58: ") + k_alice +
                "\n  miner_seed_file: seed.hex\n  vm_ip: 10.0.0.5/24\n  gateway: 10.0.0.1\n"
                "  dns: [1.1.1.1, 9.9.9.9]\n");
  ConfigInput flags;
  flags.hostname = "from-flag";
  fill_unset(flags, *up::load_host_file(dir.path() / "good.yaml", up::HostFileUse::config_volume).config);
  CHECK(flags.hostname == "from-flag");
  CHECK(flags.miner_ss58 == k_alice);
  CHECK(flags.seed_file == (dir.path() / "seed.hex").string());
  CHECK(flags.dns == std::vector<std::string>{"1.1.1.1", "9.9.9.9"});
}

TEST_CASE("volume: fill_unset: a flag wins, the file fills what no flag gave", "[volume]") {
  ConfigInput flags;
  flags.hostname = "from-flag";
  flags.dns = {"8.8.8.8"};
  ConfigInput file{"from-file", k_alice, "/etc/tdxctl/seed.hex", "10.0.0.5/24", "10.0.0.1", {"1.1.1.1"}};
  fill_unset(flags, file);
  CHECK(flags.hostname == "from-flag");
  CHECK(flags.miner_ss58 == k_alice);
  CHECK(flags.seed_file == "/etc/tdxctl/seed.hex");
  CHECK(flags.vm_ip == "10.0.0.5/24");
  CHECK(flags.gateway == "10.0.0.1");
  CHECK(flags.dns == std::vector<std::string>{"8.8.8.8"});
}
