// `tdxctl up` / `down` / `config` through the built binary, on real parts:
// a fixture host tree (--root) that passes `host check` with its H100 on
// vfio-pci, a network namespace with a veth as the public interface, real
// config and cache volumes in a temp dir (the config volume read back with
// libguestfs by the TD preflight), and libvirt's test driver with --no-tdx.
//
// The test driver keeps its state per process, so the second `up` and the
// `down` connect to a test:///FILE node holding the domain exactly as the
// first `up` defined it (the define step's XML from --dry-run): what a
// libvirtd would hold after the first run.
#include "support/fixtures.hpp"
#include "support/gpu_hgx.hpp"
#include "support/gpu_tool.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

using namespace tdx;
using Json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

const char* k_alice = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
const char* k_seed = "0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789abcdef\n";

core::Completed run(std::vector<std::string> argv) {
  core::Command cmd;
  cmd.argv = std::move(argv);
  cmd.timeout = std::chrono::seconds(300);
  auto done = core::RealRunner().run(cmd);
  if (!done) throw std::runtime_error(done.error().message);
  return *done;
}

struct Netns {
  std::string name = "tdxup" + std::to_string(::getpid() % 100000);
  Netns() {
    run({"ip", "netns", "del", name});
    for (auto args : {std::vector<std::string>{"netns", "add", name},
                      {"-n", name, "link", "set", "lo", "up"},
                      {"-n", name, "link", "add", "pub0", "type", "veth", "peer", "name", "peer0"},
                      {"-n", name, "addr", "add", "10.79.0.1/24", "dev", "pub0"},
                      {"-n", name, "link", "set", "pub0", "up"}}) {
      args.insert(args.begin(), "ip");
      auto r = run(args);
      if (!r.ok()) throw std::runtime_error("ip " + args[1] + ": " + r.err);
    }
  }
  ~Netns() { run({"ip", "netns", "del", name}); }
  bool has_link(const std::string& link) const { return run({"ip", "-n", name, "link", "show", link}).ok(); }
  std::string addresses(const std::string& link) const {
    return run({"ip", "-n", name, "-4", "-o", "addr", "show", "dev", link}).out;
  }
};

struct Lab {
  core::TempDir root, vols;
  Netns ns;
  fs::path yaml = vols.path() / "host.yaml";
  Lab() {
    ::setenv("LIBGUESTFS_BACKEND", "direct", 1);
    test::make_ready_host(root.path());
    // ip_forward is the namespace's own: the firewall stage flips and restores
    // it. Bind-mounted per command (tdxctl() below), since tdxctl refuses a
    // symlink out of --root.
    fs::create_directories(root.path() / "proc/sys/net");
    test::put(vols.path(), "td.qcow2", std::string("QFI\xfb", 4));
    test::put_boot_files(vols.path() / "td.qcow2");
    test::put(vols.path(), "seed.hex", k_seed);
    fs::permissions(vols.path() / "seed.hex", fs::perms::owner_read | fs::perms::owner_write);
    test::put(vols.path(), "host.yaml",
              std::string("gpu:\n  devices: [18:00.0]\n"
                          "config:\n  hostname: miner-0\n  miner_ss58: ") + k_alice +
                  "\n  miner_seed_file: seed.hex\n  vm_ip: 192.168.100.2/24\n"
                  "  gateway: 192.168.100.1\n  dns: [1.1.1.1]\n"
                  "volumes:\n  cache_size: 1G\n"
                  "network:\n  public_interface: pub0\n  forwards: [tcp/6443, tcp/2222:22]\n"
                  "td:\n  name: uptd\n  vcpus: 2\n  memory_gib: 2\n  image: td.qcow2\n"
                  "  config_volume: config.qcow2\n  cache_volume: cache.qcow2\n  gpus: all-bound\n");
  }
  core::Completed tdxctl(const std::string& uri, std::vector<std::string> args) const {
    // The mount lives in the mount namespace `ip netns exec` makes for the command.
    std::vector<std::string> argv{"ip", "netns", "exec", ns.name, "sh", "-c",
                                  "mount --bind /proc/sys/net \"$0\" && exec \"$@\"",
                                  (root.path() / "proc/sys/net").string(), TDXCTL_BINARY, "--root",
                                  root.path().string(), "--connect", uri};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
  }
};

// The ready host with its single H100 replaced by the HGX board (8 GPUs, 4
// NVSwitches, on their drivers).
void make_hgx_host(const fs::path& root) {
  test::make_ready_host(root);
  fs::remove_all(root / "sys/devices/pci0000:17");
  fs::remove(root / "sys/bus/pci/devices/0000:18:00.0");
  fs::remove_all(root / "sys/kernel/iommu_groups/40");
  test::hgx::build(root);
}

// `up -c HOST_YAML --no-tdx` on ROOT and the test driver, with a JSON report.
std::vector<std::string> hgx_up_argv(const fs::path& root, const fs::path& host_yaml) {
  return {"--root", root.string(), "--connect", "test:///default", "-o", "json",
          "up", "-c", host_yaml.string(), "--no-tdx"};
}

std::vector<std::string> with_dry_run(std::vector<std::string> argv) {
  argv.insert(argv.begin(), "--dry-run");
  return argv;
}

Json stage(const Json& doc, const std::string& name) {
  for (const auto& s : doc["stages"])
    if (s["name"] == name) return s;
  FAIL("no stage " << name);
  return {};
}

} // namespace

TEST_CASE("up --dry-run, up, up again, down: host state after each", "[up][integration]") {
  Lab lab;
  const std::string yaml = lab.yaml.string();

  // 1. --dry-run: the whole plan, the domain XML included; nothing touched.
  auto dry = lab.tdxctl("test:///default", {"--dry-run", "-o", "json", "up", "-c", yaml, "--no-tdx"});
  INFO(dry.err);
  REQUIRE(dry.exit_status == 0);
  auto plan = Json::parse(dry.out);
  CHECK(plan["schema"] == "tdxctl.up/1");
  CHECK(plan["dry_run"] == true);
  CHECK(plan["changed"] == false);
  std::vector<std::string> names;
  for (const auto& s : plan["stages"]) names.push_back(s["name"]);
  CHECK(names == std::vector<std::string>{"host", "gpu", "volumes", "network", "td", "attest"});
  CHECK(stage(plan, "host")["status"] == "unchanged");
  CHECK(stage(plan, "gpu")["status"] == "unchanged"); // the fixture's H100 is on vfio-pci already
  CHECK(stage(plan, "volumes")["status"] == "planned");
  CHECK(stage(plan, "network")["status"] == "planned");
  CHECK(stage(plan, "td")["status"] == "planned");
  CHECK(stage(plan, "attest")["status"] == "skipped");
  std::string xml;
  auto td_stage = stage(plan, "td"), net_stage = stage(plan, "network");
  for (const auto& step : td_stage["plan"])
    if (step["id"] == "td.define") xml = step["detail"]["xml"];
  CHECK_THAT(xml, Catch::Contains("<source bridge=\"br-tdx\"/>"));
  CHECK_THAT(xml, Catch::Contains((lab.vols.path() / "config.qcow2").string()));
  bool ruleset = false;
  for (const auto& step : net_stage["plan"])
    ruleset = ruleset || (step["kind"] == "ruleset" &&
                          step["detail"].dump().find("--dport 2222 -j DNAT --to-destination 192.168.100.2:22") != std::string::npos);
  CHECK(ruleset);
  CHECK_FALSE(fs::exists(lab.vols.path() / "config.qcow2"));
  CHECK_FALSE(fs::exists(lab.vols.path() / "cache.qcow2"));
  CHECK_FALSE(lab.ns.has_link("br-tdx"));
  // Text mode prints the same plan, the XML and the summary table.
  auto text = lab.tdxctl("test:///default", {"--dry-run", "up", "-c", yaml, "--no-tdx"});
  CHECK_THAT(text.out, Catch::Contains("<domain type=\"test\">"));
  CHECK_THAT(text.out, Catch::Contains("STAGE"));
  CHECK_THAT(text.out, Catch::Contains("dry run: nothing was changed"));

  // 2. up: volumes created, network up, TD defined and started.
  auto first = lab.tdxctl("test:///default", {"-o", "json", "up", "-c", yaml, "--no-tdx"});
  INFO(first.err);
  REQUIRE(first.exit_status == 0);
  auto doc = Json::parse(first.out);
  CHECK(doc["changed"] == true);
  CHECK(stage(doc, "volumes")["status"] == "changed");
  CHECK(stage(doc, "network")["status"] == "changed");
  CHECK(stage(doc, "td")["status"] == "changed");
  CHECK(stage(doc, "td")["detail"]["tdx"] == false);
  CHECK_THAT(first.err, Catch::Contains("==> network"));
  CHECK(fs::exists(lab.vols.path() / "config.qcow2"));
  CHECK(fs::exists(lab.vols.path() / "config.qcow2.sha384"));
  CHECK(fs::exists(lab.vols.path() / "cache.qcow2"));
  CHECK_THAT(lab.ns.addresses("br-tdx"), Catch::Contains("192.168.100.1/24"));
  CHECK(lab.ns.has_link("vmtap0"));
  CHECK(fs::exists(lab.root.path() / "run/tdxctl/net.json"));
  auto config_mtime = fs::last_write_time(lab.vols.path() / "config.qcow2");

  // 3. up again, against a libvirt that holds the domain as defined: nothing to do.
  std::string node_xml = xml.substr(xml.find("?>") + 2);
  test::put(lab.vols.path(), "node.xml", "<node>" + node_xml + "</node>\n");
  std::string held = "test://" + (lab.vols.path() / "node.xml").string();
  auto second = lab.tdxctl(held, {"-o", "json", "up", "-c", yaml, "--no-tdx"});
  INFO(second.err);
  REQUIRE(second.exit_status == 0);
  auto again = Json::parse(second.out);
  CHECK(again["changed"] == false);
  for (const auto& s : again["stages"]) {
    INFO(s["name"]);
    CHECK((s["status"] == "unchanged" || s["status"] == "skipped"));
  }
  CHECK(stage(again, "network")["message"] == "nothing to do");
  CHECK(fs::last_write_time(lab.vols.path() / "config.qcow2") == config_mtime);

  // 4. down: TD stopped, network gone, volumes kept.
  auto down = lab.tdxctl(held, {"-o", "json", "down", "-c", yaml, "--timeout", "5"});
  INFO(down.err);
  REQUIRE(down.exit_status == 0);
  auto d = Json::parse(down.out);
  CHECK(d["schema"] == "tdxctl.down/1");
  CHECK(d["changed"] == true);
  CHECK(stage(d, "td")["status"] == "changed");
  CHECK(stage(d, "network")["status"] == "changed");
  CHECK(stage(d, "gpu")["status"] == "skipped");
  CHECK(stage(d, "volumes")["status"] == "skipped");
  CHECK_FALSE(lab.ns.has_link("br-tdx"));
  CHECK_FALSE(lab.ns.has_link("vmtap0"));
  CHECK_FALSE(fs::exists(lab.root.path() / "run/tdxctl/net.json"));
  CHECK(fs::exists(lab.vols.path() / "config.qcow2"));
  CHECK(fs::exists(lab.vols.path() / "cache.qcow2"));
  // down again: the network is already down.
  auto down2 = lab.tdxctl("test:///default", {"-o", "json", "down", "-c", yaml});
  REQUIRE(down2.exit_status == 0);
  CHECK(stage(Json::parse(down2.out), "network")["status"] == "unchanged");
  CHECK(stage(Json::parse(down2.out), "td")["status"] == "unchanged"); // no such domain there
}

TEST_CASE("up refuses before any change when the host is not ready (exit 3)", "[up][integration]") {
  core::TempDir root, vols;
  test::put(vols.path(), "host.yaml", "td:\n  image: td.qcow2\n  cache_volume: cache.qcow2\n");
  auto r = test::run_tdxctl({"--root", root.path().string(), "--connect", "test:///default", "-o", "json",
                             "up", "-c", (vols.path() / "host.yaml").string(), "--no-tdx"});
  CHECK(r.exit_status == 3);
  auto doc = Json::parse(r.out); // exactly one document, the up report
  CHECK(doc["schema"] == "tdxctl.up/1");
  CHECK(doc["changed"] == false);
  CHECK(doc["stages"].size() == 1);
  CHECK(doc["stages"][0]["status"] == "failed");
  CHECK(doc["error"]["exit_code"] == 3);
  CHECK_THAT(r.err, Catch::Contains("host is not ready for TDs"));
  CHECK_FALSE(fs::exists(vols.path() / "cache.qcow2"));
}

TEST_CASE("up --attest fails loudly (exit 3) when the fresh quote does not verify", "[up][integration]") {
  core::TempDir root, vols;
  test::make_ready_host(root.path());
  // The guest side: `quote serve` answering with a recorded real quote,
  // whose REPORTDATA cannot carry this run's fresh nonce.
  auto set = test::testdata() / "quotes/tdx-v4-b0c06f-uptodate";
  std::string entry = "sys/kernel/config/tsm/report/up0/";
  test::put(root.path(), entry + "provider", "tdx_guest\n");
  test::put(root.path(), entry + "generation", "1\n");
  test::put(root.path(), entry + "inblob", "");
  test::put(root.path(), entry + "outblob", core::value_or_throw(core::read_file(set / "quote.bin")));
  auto sock = (vols.path() / "quote.sock").string();
  core::Completed served;
  std::thread server([&] {
    served = test::run_tdxctl({"--root", root.path().string(), "quote", "serve", "--unix", sock, "--count", "1",
                               "--tsm-entry", "up0"});
  });
  test::put(vols.path(), "td.qcow2", std::string("QFI\xfb", 4));
  test::put_boot_files(vols.path() / "td.qcow2");
  test::put(vols.path(), "host.yaml",
            "td:\n  name: attested\n  image: td.qcow2\n  vcpus: 1\n  memory_gib: 1\n"
            "attest:\n  collateral: " + set.string() + "\n  unix: quote.sock\n  timeout: 20\n  at: '1750809600'\n");
  auto r = test::run_tdxctl({"--root", root.path().string(), "--connect", "test:///default", "-o", "json",
                             "up", "-c", (vols.path() / "host.yaml").string(), "--no-tdx", "--attest"});
  server.join();
  INFO(r.err);
  CHECK(served.ok());
  CHECK(r.exit_status == 3);
  auto doc = Json::parse(r.out);
  auto a = stage(doc, "attest");
  CHECK(a["status"] == "failed");
  CHECK(a["detail"]["verification"]["verified"] == true); // a genuine quote ...
  CHECK(a["detail"]["verification"]["policy"]["failures"][0]["check"] == "report_data"); // ... not bound to this nonce
  CHECK_THAT(r.err, Catch::Contains("attestation failed"));
}

TEST_CASE("config init writes a host.yaml from the host that config check accepts", "[up][integration]") {
  core::TempDir root;
  test::make_ready_host(root.path());
  test::put(root.path(), "proc/net/route",
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
            "eno1\t00000000\t0100A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n");
  auto init = test::run_tdxctl({"--root", root.path().string(), "-o", "json", "config", "init"});
  INFO(init.err);
  REQUIRE(init.exit_status == 0);
  auto doc = Json::parse(init.out);
  CHECK(doc["public_interface"] == "eno1");
  CHECK(doc["gpus"] == Json::array({"0000:18:00.0"}));
  auto written = root.path() / "etc/tdxctl/host.yaml";
  REQUIRE(fs::exists(written));
  auto text = core::value_or_throw(core::read_file(written));
  CHECK_THAT(text, Catch::Contains("public_interface: eno1"));
  CHECK_THAT(text, Catch::Contains("- 0000:18:00.0   # GPU"));
  auto check = test::run_tdxctl({"--root", root.path().string(), "config", "check"});
  INFO(check.err);
  CHECK(check.exit_status == 0);
  CHECK_THAT(check.out, Catch::Contains("host.yaml: OK"));
  // Refuses to overwrite without --force; the file stays as it was.
  test::put(root.path(), "etc/tdxctl/host.yaml", text + "# edited\n");
  auto again = test::run_tdxctl({"--root", root.path().string(), "config", "init"});
  CHECK(again.exit_status != 0);
  CHECK_THAT(core::value_or_throw(core::read_file(written)), Catch::EndsWith("# edited\n"));
  CHECK(test::run_tdxctl({"--root", root.path().string(), "config", "init", "--force"}).exit_status == 0);
  // An invalid file: exit 2, every problem with its line.
  test::put(root.path(), "bad.yaml", "network:\n  vm_address: 10.1.1.1\ntd:\n  vcpus: x\n");
  auto bad = test::run_tdxctl({"config", "check", "-c", (root.path() / "bad.yaml").string()});
  CHECK(bad.exit_status == 2);
  CHECK_THAT(bad.err, Catch::Contains("bad.yaml:4:10: key 'td.vcpus'"));
  // A key set twice: yaml-cpp would take the first, Ansible the last; config check names both lines.
  test::put(root.path(), "twice.yaml", "td:\n  name: first\n  vcpus: 4\n  name: second\n");
  auto twice = test::run_tdxctl({"config", "check", "-c", (root.path() / "twice.yaml").string()});
  CHECK(twice.exit_status == 2);
  CHECK_THAT(twice.err, Catch::Contains("twice.yaml:4:3: key 'td.name' is set twice (lines 2 and 4)"));
}

TEST_CASE("up binds an HGX board's GPUs and NVSwitches before the TD takes them all", "[up][integration]") {
  core::TempDir root, vols;
  make_hgx_host(root.path());
  test::hgx::KernelEmulator kernel(root.path());
  test::put(vols.path(), "td.qcow2", std::string("QFI\xfb", 4));
  test::put_boot_files(vols.path() / "td.qcow2");
  test::put(vols.path(), "host.yaml", "gpu:\n  devices: all\ntd:\n  name: hgx\n  image: td.qcow2\n"
                                      "  vcpus: 2\n  memory_gib: 2\n  gpus: all-bound\n");
  auto base = hgx_up_argv(root.path(), vols.path() / "host.yaml");
  auto dry = test::run_tdxctl(with_dry_run(base));
  INFO(dry.err);
  REQUIRE(dry.exit_status == 0);
  auto plan = Json::parse(dry.out);
  CHECK(stage(plan, "gpu")["status"] == "planned");
  CHECK(test::hgx::driver_of(root.path(), "0000:18:00.0") == "nvidia"); // untouched

  auto r = test::run_tdxctl(base);
  INFO(r.err);
  REQUIRE(r.exit_status == 0);
  auto doc = Json::parse(r.out);
  CHECK(stage(doc, "gpu")["status"] == "changed");
  CHECK(stage(doc, "td")["status"] == "changed");
  for (const auto& a : test::hgx::gpus) CHECK(test::hgx::driver_of(root.path(), a) == "vfio-pci");
  for (const auto& a : test::hgx::nvswitches) CHECK(test::hgx::driver_of(root.path(), a) == "vfio-pci");
  // The TD was given every device now on vfio-pci: 8 GPUs and 4 NVSwitches.
  auto xml_args = std::vector<std::string>{"--root", root.path().string(), "-o", "json", "td", "xml",
                                           "-c", (vols.path() / "host.yaml").string(), "--no-tdx"};
  auto x = test::run_tdxctl(xml_args);
  REQUIRE(x.exit_status == 0);
  auto xml = Json::parse(x.out)["xml"].get<std::string>();
  size_t hostdevs = 0;
  for (size_t p = xml.find("<hostdev "); p != std::string::npos; p = xml.find("<hostdev ", p + 1)) ++hostdevs;
  CHECK(hostdevs == 12);

  // down --release-gpus gives them back to their drivers.
  auto d = test::run_tdxctl({"--root", root.path().string(), "--connect", "test:///default", "-o", "json",
                             "down", "-c", (vols.path() / "host.yaml").string(), "--release-gpus"});
  INFO(d.err);
  REQUIRE(d.exit_status == 0);
  CHECK(stage(Json::parse(d.out), "gpu")["status"] == "changed");
  CHECK(test::hgx::driver_of(root.path(), "0000:18:00.0") == "nvidia");
  CHECK(test::hgx::driver_of(root.path(), "0000:05:00.0") == "nvidia-nvswitch");
}

TEST_CASE("up's gpu stage follows gpu.mode: cc switches the bound GPUs to CC mode", "[up][integration]") {
  core::TempDir root, vols;
  make_hgx_host(root.path());
  test::hgx::KernelEmulator kernel(root.path());
  test::hgx::install_fake_tool(vols.path() / "tool", "off", "off");
  test::put(vols.path(), "td.qcow2", std::string("QFI\xfb", 4));
  test::put_boot_files(vols.path() / "td.qcow2");
  test::put(vols.path(), "host.yaml",
            "gpu:\n  devices: [18:00.0, 2a:00.0]\n  mode: cc\n  admin_tool: tool\n"
            "td:\n  name: cc\n  image: td.qcow2\n  vcpus: 2\n  memory_gib: 2\n  gpus: [18:00.0, 2a:00.0]\n");
  auto base = hgx_up_argv(root.path(), vols.path() / "host.yaml");
  auto dry = test::run_tdxctl(with_dry_run(base));
  INFO(dry.err);
  REQUIRE(dry.exit_status == 0);
  CHECK(stage(Json::parse(dry.out), "gpu")["status"] == "planned");
  CHECK(test::hgx::tool_calls(vols.path() / "tool").empty());

  auto r = test::run_tdxctl(base);
  INFO(r.err);
  REQUIRE(r.exit_status == 0);
  CHECK(stage(Json::parse(r.out), "gpu")["status"] == "changed");
  auto switches = test::hgx::tool_switches(vols.path() / "tool");
  REQUIRE(switches.size() == 2); // PPCIe was off already: only the CC switches
  CHECK(switches[0] == Json{"--gpu-bdf=0000:18:00.0", "--set-cc-mode=on", "--reset-after-cc-mode-switch"});
  CHECK(switches[1] == Json{"--gpu-bdf=0000:2a:00.0", "--set-cc-mode=on", "--reset-after-cc-mode-switch"});
  CHECK(test::hgx::driver_of(root.path(), "0000:2a:00.0") == "vfio-pci");
}

TEST_CASE("up never recreates a volume over different content without --recreate-volumes", "[up][integration]") {
  ::setenv("LIBGUESTFS_BACKEND", "direct", 1);
  core::TempDir root, vols;
  test::make_ready_host(root.path());
  test::put(vols.path(), "td.qcow2", std::string("QFI\xfb", 4));
  test::put_boot_files(vols.path() / "td.qcow2");
  test::put(vols.path(), "seed.hex", k_seed);
  auto yaml = [&](const std::string& hostname) {
    test::put(vols.path(), "host.yaml",
              "config:\n  hostname: " + hostname + "\n  miner_ss58: " + k_alice +
                  "\n  miner_seed_file: seed.hex\n  vm_ip: 192.168.100.2/24\n  gateway: 192.168.100.1\n"
                  "  dns: [1.1.1.1]\ntd:\n  name: vols\n  image: td.qcow2\n  vcpus: 1\n  memory_gib: 1\n"
                  "  config_volume: config.qcow2\n");
  };
  std::vector<std::string> base{"--root", root.path().string(), "--connect", "test:///default", "-o", "json",
                                "up", "-c", (vols.path() / "host.yaml").string(), "--no-tdx"};
  yaml("miner-0");
  auto first = test::run_tdxctl(base);
  INFO(first.err);
  REQUIRE(first.exit_status == 0);
  auto digest = core::value_or_throw(core::read_file(vols.path() / "config.qcow2.sha384"));

  yaml("miner-1"); // different content for the same volume
  auto refused = test::run_tdxctl(base);
  CHECK(refused.exit_status != 0);
  auto doc = Json::parse(refused.out);
  CHECK(stage(doc, "volumes")["status"] == "failed");
  CHECK_THAT(refused.err, Catch::Contains("config.qcow2 already exists with other content"));
  CHECK_THAT(refused.err, Catch::Contains("--recreate-volumes"));
  CHECK(core::value_or_throw(core::read_file(vols.path() / "config.qcow2.sha384")) == digest);

  auto with_flag = base;
  with_flag.push_back("--recreate-volumes");
  auto recreated = test::run_tdxctl(with_flag);
  INFO(recreated.err);
  REQUIRE(recreated.exit_status == 0);
  CHECK(stage(Json::parse(recreated.out), "volumes")["status"] == "changed");
  CHECK(core::value_or_throw(core::read_file(vols.path() / "config.qcow2.sha384")) != digest);
}
