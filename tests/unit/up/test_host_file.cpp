// host.yaml read in one pass: a valid file gives every group its request;
// each key made wrong in turn is reported with file:line:col and its dotted
// key; cross-section checks name both keys; config init's output parses.
#include "support/fixtures.hpp"
#include "tdxctl/config/yaml_reader.hpp"
#include "tdxctl/up/config_init.hpp"
#include "tdxctl/up/host_file.hpp"

#include <catch2/catch.hpp>

#include <regex>

using namespace tdx;

namespace {

const std::string k_valid = R"(host:
  require_attestation: true
gpu:
  devices: [18:00.0, 0000:2a:00.0]
  mode: ppcie
  persist: false
config:
  hostname: miner-0
  miner_ss58: 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY
  miner_seed_file: seed.hex
  vm_ip: 192.168.100.2/24
  gateway: 192.168.100.1
  dns: [1.1.1.1]
volumes:
  format: raw
  cache_size: 100G
network:
  mode: bridge
  bridge: br-tdx
  bridge_address: 192.168.100.1/24
  vm_address: 192.168.100.2
  public_interface: eth0
  forwards: [tcp/6443, tcp/30000-32767, tcp/2222:22]
td:
  name: miner
  vcpus: 8
  memory_gib: 16
  image: images/td.qcow2
  config_volume: /var/lib/tdx/config.qcow2
  cache_volume: cache.qcow2
  gpus: [18:00.0]
  network:
    mac: 52:54:00:00:00:01
)";

up::HostFile parse(const std::string& text) { return up::parse_host_file(text, "host.yaml", "/etc/tdxctl"); }

std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const core::Failure& f) {
    CHECK(f.error().category == core::Category::invalid_input);
    return f.error().message;
  }
  return "(no error)";
}

// Replaces the first line that starts with `prefix` (after indentation).
std::string with_line(const std::string& text, const std::string& prefix, const std::string& line) {
  auto pos = text.find("\n" + prefix);
  REQUIRE(pos != std::string::npos);
  auto end = text.find('\n', pos + 1);
  return text.substr(0, pos + 1) + line + text.substr(end);
}

} // namespace

TEST_CASE("a valid host.yaml gives each group its request", "[up]") {
  auto f = parse(k_valid);
  CHECK(f.require_attestation);
  REQUIRE(f.gpu);
  CHECK(f.gpu->devices == std::vector<std::string>{"0000:18:00.0", "0000:2a:00.0"});
  CHECK(f.gpu->mode == up::GpuMode::ppcie);
  REQUIRE(f.config);
  CHECK(f.config->hostname == "miner-0");
  CHECK(f.config->seed_file == "/etc/tdxctl/seed.hex"); // relative to host.yaml
  CHECK(f.volumes.format == volume::VolumeFormat::raw);
  CHECK(f.volumes.cache_size == "100G");
  REQUIRE(f.network);
  CHECK(f.network->forwards.size() == 3);
  CHECK(f.td.name == "miner");
  CHECK(f.td.image == "/etc/tdxctl/images/td.qcow2");
  CHECK(f.td.cache_volume == "/etc/tdxctl/cache.qcow2");
  CHECK(f.td.config_volume == "/var/lib/tdx/config.qcow2");
  // The TD's NIC comes from the top-level network: section; td.network only sets the MAC.
  CHECK(f.td.net.mode == net::Mode::bridge);
  CHECK(f.td.net.source == "br-tdx");
  CHECK(f.td.net.mac == "52:54:00:00:00:01");
  CHECK_FALSE(f.attest);
  CHECK(f.summary()["volumes"]["cache"]["size"] == "100G");
}

TEST_CASE("each key wrong in turn is reported with its line and dotted key", "[up]") {
  struct Case {
    const char* prefix;
    const char* line;
    const char* where; // "line:col: key 'k'"
  };
  const Case cases[] = {
      {"  require_attestation:", "  require_attestation: maybe", "2:24: key 'host.require_attestation'"},
      {"  devices:", "  devices: [18:00]", "4:12: key 'gpu.devices'"},
      {"  mode: ppcie", "  mode: hgx", "5:9: key 'gpu.mode'"},
      {"  hostname:", "  hostname: Miner_0", "8:13: key 'config.hostname'"},
      {"  miner_ss58:", "  miner_ss58: 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQZ", "9:15: key 'config.miner_ss58'"},
      {"  vm_ip:", "  vm_ip: 192.168.100.2", "11:10: key 'config.vm_ip'"},
      {"  gateway:", "  gateway: 192.168.100", "12:12: key 'config.gateway'"},
      {"  dns:", "  dns: [1.1.1]", "13:8: key 'config.dns'"},
      {"  format:", "  format: vmdk", "15:11: key 'volumes.format'"},
      {"  cache_size:", "  cache_size: 5 TB", "16:15: key 'volumes.cache_size'"},
      {"  mode: bridge", "  mode: nat", "18:9: key 'network.mode'"},
      {"  forwards:", "  forwards: [tcp/6443, sctp/1]", "23:13: key 'network.forwards'"},
      {"  vcpus:", "  vcpus: 0", "26:10: key 'td.vcpus'"},
      {"  memory_gib:", "  memory_gib: lots", "27:15: key 'td.memory_gib'"},
      {"  gpus:", "  gpus: [bus3]", "31:9: key 'td.gpus'"},
      {"    mac:", "    mac: 52:54:00:00:00:0G", "33:10: key 'td.network.mac'"},
      {"  name:", "  name: 'two words'", "25:9: key 'td.name'"},
  };
  for (const auto& c : cases) {
    INFO(c.line);
    auto message = error_of(with_line(k_valid, c.prefix, c.line));
    CHECK_THAT(message, Catch::StartsWith(std::string("host.yaml:") + c.where));
  }
}

TEST_CASE("unknown keys anywhere are reported once each, all in one error", "[up]") {
  auto text = with_line(k_valid, "  persist:", "  persists: true");
  text += "  vcpu: 4\nextra: 1\n";
  auto message = error_of(text);
  CHECK_THAT(message, Catch::Contains("host.yaml:6:3: key 'gpu.persists': unknown key"));
  CHECK_THAT(message, Catch::Contains("key 'td.vcpu': unknown key"));
  CHECK_THAT(message, Catch::Contains("key 'extra': unknown key; expected one of: host, gpu, config"));
  std::regex re("gpu\\.persists");
  CHECK(std::distance(std::sregex_iterator(message.begin(), message.end(), re), std::sregex_iterator()) == 1);
}

TEST_CASE("cross-checks name the key, its line and what it must agree with", "[up]") {
  SECTION("VM address outside the bridge subnet") {
    auto m = error_of(with_line(k_valid, "  vm_address:", "  vm_address: 10.0.0.2"));
    CHECK_THAT(m, Catch::Contains("host.yaml:21:15: key 'network.vm_address': VM address 10.0.0.2 is outside the bridge subnet 192.168.100.0/24"));
    // ... and the config volume then disagrees with the network too.
    CHECK_THAT(m, Catch::Contains("key 'config.vm_ip': is 192.168.100.2/24 but the network gives the TD 10.0.0.2/24"));
  }
  SECTION("VM address equal to the bridge's") {
    auto m = error_of(with_line(k_valid, "  vm_address:", "  vm_address: 192.168.100.1"));
    CHECK_THAT(m, Catch::Contains("key 'network.vm_address': VM address 192.168.100.1 is the bridge's own address"));
  }
  SECTION("overlapping forwards, with the defaults' ranges") {
    auto m = error_of(with_line(k_valid, "  forwards:", "  forwards: [tcp/6443, tcp/30000-32767, tcp/32000]"));
    CHECK_THAT(m, Catch::Contains("host.yaml:23:13: key 'network.forwards': port forwards tcp/30000-32767 and tcp/32000 overlap"));
    // udp and tcp on one port do not clash
    CHECK_NOTHROW(parse(with_line(k_valid, "  forwards:", "  forwards: [tcp/6443, udp/6443]")));
  }
  SECTION("two disks on one file") {
    auto m = error_of(with_line(k_valid, "  cache_volume:", "  cache_volume: images/../images/td.qcow2"));
    CHECK_THAT(m, Catch::Contains("host.yaml:30:17: key 'td.cache_volume': is the same file as td.image"));
  }
  SECTION("gateway is not the bridge") {
    auto m = error_of(with_line(k_valid, "  gateway:", "  gateway: 192.168.100.254"));
    CHECK_THAT(m, Catch::Contains("host.yaml:12:12: key 'config.gateway': is 192.168.100.254 but the bridge (the TD's gateway) is 192.168.100.1"));
  }
  SECTION("a TD GPU that gpu: does not bind") {
    auto m = error_of(with_line(k_valid, "  gpus:", "  gpus: [3b:00.0]"));
    CHECK_THAT(m, Catch::Contains("key 'td.gpus': 0000:3b:00.0 is not in gpu.devices"));
  }
  SECTION("td.network.bridge beside a top-level network:") {
    auto m = error_of(with_line(k_valid, "    mac:", "    bridge: br0"));
    CHECK_THAT(m, Catch::Contains("key 'td.network.bridge': unknown key; expected one of: mac"));
  }
  SECTION("attest without collateral") {
    auto m = error_of(k_valid + "attest:\n  port: 4050\n");
    CHECK_THAT(m, Catch::Contains("attest.collateral is required"));
  }
}

TEST_CASE("without network:, td.network still attaches the NIC (td launch -c files)", "[up]") {
  auto f = parse("td:\n  image: td.qcow2\n  network:\n    macvtap: eth1\n");
  CHECK_FALSE(f.network);
  CHECK(f.td.net.mode == net::Mode::macvtap);
  CHECK(f.td.net.source == "eth1");
  // With network: in macvtap mode the NIC is a macvtap on its public interface.
  auto g = parse("network:\n  mode: macvtap\n  public_interface: eth2\ntd:\n  image: td.qcow2\n");
  CHECK(g.td.net.mode == net::Mode::macvtap);
  CHECK(g.td.net.source == "eth2");
}

TEST_CASE("td launch -c reads the NIC from the top-level network: section", "[up][td]") {
  core::TempDir dir;
  test::put(dir.path(), "host.yaml", "network:\n  bridge: br9\ntd:\n  image: td.qcow2\n");
  auto spec = up::load_td_spec(dir.path() / "host.yaml");
  CHECK(spec.net.mode == net::Mode::bridge);
  CHECK(spec.net.source == "br9");
  test::put(dir.path(), "mv.yaml", "network:\n  mode: macvtap\ntd:\n  image: td.qcow2\n");
  CHECK_THROWS_WITH(up::load_td_spec(dir.path() / "mv.yaml"),
                    Catch::Contains("key 'network.public_interface': a macvtap TD needs the parent device"));
}

TEST_CASE("default route from /proc/net/route", "[up]") {
  std::string table =
      "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
      "br0\t0064A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
      "eno1\t00000000\t0100A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n";
  CHECK(up::default_route_from_proc(table) == "eno1");
  CHECK_FALSE(up::default_route_from_proc(table.substr(0, table.find("eno1"))));
}

TEST_CASE("config init's file parses as written, with and without GPUs", "[up]") {
  up::HostFacts facts;
  facts.public_interface = "eno1";
  facts.gpus = {"0000:18:00.0", "0000:2a:00.0"};
  facts.nvswitches = {"0000:05:00.0"};
  facts.free_bytes = 100ull << 30;
  auto text = up::render_host_yaml(facts);
  auto f = parse(text);
  REQUIRE(f.gpu);
  CHECK(f.gpu->devices.size() == 3);
  CHECK(f.gpu->mode == up::GpuMode::ppcie); // NVSwitches present: an HGX board
  CHECK_THAT(text, Catch::Contains("  mode: ppcie   # protected PCIe: NVSwitches found"));
  up::HostFacts pcie = facts;
  pcie.nvswitches.clear();
  auto c = parse(up::render_host_yaml(pcie));
  REQUIRE(c.gpu);
  CHECK(c.gpu->mode == up::GpuMode::cc); // GPUs without NVSwitches: CC mode per GPU
  CHECK(f.network->public_interface == "eno1");
  CHECK(f.volumes.cache_size == "90G"); // 90% of the free space, under the 5000G default
  CHECK(f.td.gpus == std::vector<std::string>{"all-bound"});
  up::HostFacts bare;
  auto g = parse(up::render_host_yaml(bare));
  CHECK_FALSE(g.gpu);
  CHECK(g.network->public_interface.empty());
  CHECK(g.volumes.cache_size == "5000G");
}

TEST_CASE("gpu.mode: ppcie, cc or off; the older gpu.ppcie still reads; both is an error", "[up]") {
  auto mode_of = [](const std::string& gpu_lines) {
    return parse(with_line(k_valid, "  mode: ppcie", gpu_lines)).gpu->mode;
  };
  CHECK(mode_of("  mode: cc") == up::GpuMode::cc);
  CHECK(mode_of("  mode: off") == up::GpuMode::off);
  CHECK(mode_of("  ppcie: true") == up::GpuMode::ppcie);
  CHECK_FALSE(mode_of("  ppcie: false")); // as before: the modes are left alone
  CHECK_FALSE(mode_of("  admin_tool: /opt/gpu-admin-tools"));
  CHECK(parse(with_line(k_valid, "  mode: ppcie", "  admin_tool: tools")).gpu->admin_tool ==
        "/etc/tdxctl/tools"); // relative to host.yaml, like every path in it
  auto cc = parse(with_line(k_valid, "  mode: ppcie", "  mode: cc"));
  CHECK(cc.summary()["gpu"]["mode"] == "cc");

  auto both = error_of(with_line(k_valid, "  mode: ppcie", "  mode: cc\n  ppcie: true"));
  CHECK_THAT(both, Catch::Contains("key 'gpu.ppcie': gpu.ppcie is the older spelling of gpu.mode: "
                                   "ppcie; give only gpu.mode"));
  auto bad = error_of(with_line(k_valid, "  mode: ppcie", "  mode: devtools"));
  CHECK_THAT(bad, Catch::Contains("key 'gpu.mode': expected ppcie (GPUs with NVSwitches), cc (GPUs "
                                  "without) or off, got 'devtools'"));
}

TEST_CASE("per-key errors and cross-checks come in one report", "[up]") {
  auto text = with_line(k_valid, "  vcpus:", "  vcpus: four");
  text = with_line(text, "  vm_address:", "  vm_address: 10.0.0.2");
  text = with_line(text, "  gpus:", "  gpus: [bus3]");
  auto m = error_of(text);
  CHECK_THAT(m, Catch::Contains("key 'td.vcpus': expected an integer, got 'four'"));
  CHECK_THAT(m, Catch::Contains("key 'network.vm_address': VM address 10.0.0.2 is outside the bridge subnet"));
  CHECK_THAT(m, Catch::Contains("key 'td.gpus': expected PCI addresses"));
  CHECK_THAT(m, !Catch::Contains("bus3 is not in gpu.devices")); // reported once, as malformed
}

TEST_CASE("host.yaml: a path the kernel refuses (name too long) is a named error, not an exception") {
  auto msg = error_of("attest:\n  collateral: /" + std::string(5000, 'c') + "\n");
  CHECK_THAT(msg, Catch::Contains("key 'attest.collateral'"));
  CHECK_THAT(msg, Catch::Contains("is not a directory"));
}

TEST_CASE("one loader: every command sees the same file the same way (issue 18)", "[up][td][net][volume]") {
  core::TempDir dir;
  // A relative td.image is taken from the file's directory by every use,
  // and an unknown top-level key is the same error for td as for config check.
  test::put(dir.path() / "conf", "host.yaml", "td:\n  image: tdx.qcow2\n");
  CHECK(up::load_td_spec(dir.path() / "conf/host.yaml").image == (dir.path() / "conf/tdx.qcow2").string());
  CHECK(up::load_host_file(dir.path() / "conf/host.yaml").td.image == (dir.path() / "conf/tdx.qcow2").string());
  test::put(dir.path() / "conf", "extra.yaml", "td:\n  image: tdx.qcow2\nextra: 1\n");
  for (auto use : {up::HostFileUse::host_flow, up::HostFileUse::td, up::HostFileUse::network,
                   up::HostFileUse::config_volume})
    CHECK_THROWS_WITH(up::load_host_file(dir.path() / "conf/extra.yaml", use),
                      Catch::Contains("extra.yaml:3:1: key 'extra': unknown key"));
  // A flag path is made absolute against the working directory.
  td::SpecOverrides flags;
  flags.image = "img.qcow2";
  CHECK(up::load_td_spec(dir.path() / "conf/host.yaml", flags).image ==
        (std::filesystem::current_path() / "img.qcow2").string());
}

TEST_CASE("what each use needs from the file is reported with the rest", "[up]") {
  auto error_for = [](const std::string& text, up::HostFileUse use) {
    try {
      up::parse_host_file(text, "host.yaml", "/etc/tdxctl", use);
    } catch (const core::Failure& f) {
      return f.error().message;
    }
    return std::string();
  };
  const std::string net_only = "network:\n  mode: macvtap\n";
  CHECK(error_for(net_only, up::HostFileUse::network).empty());
  CHECK_THAT(error_for(net_only, up::HostFileUse::host_flow), Catch::Contains("a 'td:' section is required"));
  CHECK_THAT(error_for(net_only + "td:\n  name: x\n", up::HostFileUse::td),
             Catch::Contains("key 'network.public_interface': a macvtap TD needs the parent device"));
  CHECK(error_for(net_only + "td:\n  name: x\n", up::HostFileUse::host_flow).empty());
  CHECK_THAT(error_for(net_only, up::HostFileUse::config_volume), Catch::Contains("no 'config:' section"));
  // A config: section without td: is what volume config create -c reads; with
  // td:, the TD must name the volume to write.
  const std::string config_only = "config:\n  hostname: miner-0\n";
  CHECK(error_for(config_only, up::HostFileUse::config_volume).empty());
  CHECK_THAT(error_for(config_only + "td:\n  name: x\n", up::HostFileUse::config_volume),
             Catch::Contains("a config: section needs td.config_volume"));
}
