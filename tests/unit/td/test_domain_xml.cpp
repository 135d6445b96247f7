// td/domain_xml: every rendered configuration validates against libvirt
// 12.8's domain.rng (libxml2 RelaxNG), the TDX elements carry the right
// values, device order and addresses are pinned, and the topology digest
// moves with the virtual hardware and nothing else.
#include "td_fixtures.hpp"
#include "tdxctl/td/domain_xml.hpp"
#include "tdxctl/td/lifecycle.hpp"
#include "tdxctl/up/host_file.hpp"

#include <catch2/catch.hpp>

#include <regex>
#include <set>

using namespace tdx;
namespace fs = std::filesystem;

static fs::path schema() { return test::testdata() / "libvirt-schemas/domain.rng"; }

static td::RenderedDomain render(const core::Root& root, const td::TdSpec& spec) {
  auto d = td::prepare_domain(root, spec, "kvm", "");
  if (!d) FAIL(d.error().message);
  auto valid = td::validate_domain_xml(d->xml, schema());
  INFO(d->xml);
  if (!valid) FAIL(valid.error().message);
  return *d;
}

static size_t count(const std::string& s, const std::string& needle) {
  size_t n = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
  return n;
}

TEST_CASE("the validator accepts the example and rejects the typo example") {
  auto read = [](const char* name) {
    return core::value_or_throw(core::read_file(test::testdata() / "libvirt-schemas" / name));
  };
  CHECK(td::validate_domain_xml(read("example-td.xml"), schema()));
  auto bad = td::validate_domain_xml(read("example-td-invalid-typo.xml"), schema());
  REQUIRE_FALSE(bad);
  CHECK(bad.error().category == core::Category::invalid_input);
  CHECK_THAT(bad.error().message, Catch::Contains("line "));
}

TEST_CASE("a missing or broken schema is a named input error, not a crash") {
  core::TempDir dir;
  auto missing = td::validate_domain_xml("<domain/>", dir / "nope.rng");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().category == core::Category::invalid_input);
  CHECK(missing.error().code == "td.schema_unreadable");
  CHECK_THAT(missing.error().message, Catch::Contains((dir / "nope.rng").string()));
  test::put(dir.path(), "bad.rng", "<grammar xmlns='http://relaxng.org/ns/structure/1.0'><start><nonsense/>");
  auto broken = td::validate_domain_xml("<domain/>", dir / "bad.rng");
  REQUIRE_FALSE(broken);
  CHECK(broken.error().category == core::Category::invalid_input);
  CHECK(broken.error().code == "td.schema_invalid");
}

TEST_CASE("no GPU, bridge, with QGS: valid TDX domain with the manifest as mrConfigId") {
  core::TempDir dir;
  auto spec = test::make_volumes(dir.path());
  spec.net = {net::Mode::bridge, "br-tdx", "52:54:00:12:34:56"};
  auto d = render(core::Root(dir.path()), spec);
  CHECK(d.policy == "0x10000000");
  auto manifest_hex = test::sha384_hex(std::string(4096, 'c'));
  CHECK(d.mr_config_id == core::base64_encode(*core::from_hex(manifest_hex)));
  CHECK_THAT(d.xml, Catch::Contains("<launchSecurity type=\"tdx\">"));
  CHECK_THAT(d.xml, Catch::Contains("<policy>0x10000000</policy>"));
  CHECK_THAT(d.xml, Catch::Contains("<mrConfigId>" + d.mr_config_id + "</mrConfigId>"));
  CHECK_THAT(d.xml, Catch::Contains("<quoteGenerationService path=\"/var/run/tdx-qgs/qgs.socket\"/>"));
  CHECK_THAT(d.xml, Catch::Contains("<loader type=\"rom\" readonly=\"yes\" stateless=\"yes\">" + spec.firmware));
  CHECK_THAT(d.xml, Catch::Contains("<ioapic driver=\"qemu\"/>"));
  CHECK_THAT(d.xml, Catch::Contains("<smm state=\"off\"/>"));
  CHECK_THAT(d.xml, Catch::Contains("<pmu state=\"off\"/>"));
  CHECK_THAT(d.xml, Catch::Contains("<cpu mode=\"host-passthrough\""));
  CHECK_THAT(d.xml, Catch::Contains("<access mode=\"private\"/>"));
  CHECK_THAT(d.xml, Catch::Contains("<source bridge=\"br-tdx\"/>"));
  CHECK_THAT(d.xml, Catch::Contains("<cid auto=\"no\" address=\"3\"/>"));
  CHECK(count(d.xml, "<hostdev") == 0);
  CHECK_THAT(d.xml, !Catch::Contains("X-PciMmio64Mb"));
  // Disks in the fixed order, root first as vda.
  auto root = d.xml.find("<serial>td-root</serial>");
  auto config = d.xml.find("<serial>td-config</serial>");
  auto cache = d.xml.find("<serial>td-cache</serial>");
  auto containerd = d.xml.find("<serial>td-containerd</serial>");
  CHECK(root < config);
  CHECK(config < cache);
  CHECK(cache < containerd);
  CHECK_THAT(d.xml, Catch::Contains("<target dev=\"vda\" bus=\"virtio\"/>"));
  CHECK_THAT(d.xml, Catch::Contains("type=\"qcow2\"")); // the image's magic, not its name
  CHECK(d.topology_digest.size() == 7 + 96);
}

TEST_CASE("one GPU, macvtap, no QGS: valid, one hostdev behind its own root port") {
  core::TempDir dir;
  test::make_gpu_host(dir.path(), 1, 0);
  auto spec = test::make_volumes(dir.path());
  spec.gpus = {test::gpu_bdf(0).substr(5)}; // short form accepted
  spec.net = {net::Mode::macvtap, "eth0", "52:54:00:12:34:56"};
  spec.qgs_socket.clear();
  auto d = render(core::Root(dir.path()), spec);
  CHECK_THAT(d.xml, Catch::Contains("<interface type=\"direct\">"));
  CHECK_THAT(d.xml, Catch::Contains("<source dev=\"eth0\" mode=\"bridge\"/>"));
  CHECK_THAT(d.xml, !Catch::Contains("quoteGenerationService"));
  CHECK(count(d.xml, "<hostdev") == 1);
  CHECK_THAT(d.xml, Catch::Contains("<address domain=\"0x0000\" bus=\"0x18\" slot=\"0x00\" function=\"0x0\"/>"));
  CHECK_THAT(d.xml, Catch::Contains("<entry name=\"opt/ovmf/X-PciMmio64Mb\">262144</entry>"));
  // 4 disks + NIC + vsock + GPU, each on its own root port.
  CHECK(count(d.xml, "model=\"pcie-root-port\"") == 7);
}

TEST_CASE("8 GPUs + 4 NVSwitches via all-bound: valid, 12 hostdevs, unique root ports") {
  core::TempDir dir;
  test::make_gpu_host(dir.path(), 8, 4);
  auto spec = test::make_volumes(dir.path());
  spec.gpus = {"all-bound"};
  spec.net = {net::Mode::bridge, "br0", "52:54:00:12:34:56"};
  spec.mr_owner = core::base64_encode(std::vector<uint8_t>(48, 0xab));
  auto d = render(core::Root(dir.path()), spec);
  CHECK(count(d.xml, "<hostdev") == 12);
  CHECK(count(d.xml, "model=\"pcie-root-port\"") == 18);
  CHECK_THAT(d.xml, Catch::Contains("<mrOwner>"));
  // GPUs first (sorted), then NVSwitches.
  CHECK(d.xml.find("bus=\"0x88\"") < d.xml.find("bus=\"0xc0\""));
  // 8 x 256 GiB + 4 x 1 GiB, in MiB.
  CHECK_THAT(d.xml, Catch::Contains(">" + std::to_string(1024 * (8 * 256 + 4)) + "</entry>"));
  // Every root port sits at its own address on bus 0; every device at 00.0 of its port.
  std::regex port(R"re(bus="0x00" slot="(0x[0-9a-f]+)" function="(0x[0-7])")re");
  std::set<std::string> addresses;
  size_t ports = 0;
  for (std::sregex_iterator it(d.xml.begin(), d.xml.end(), port), end; it != end; ++it) {
    addresses.insert((*it)[1].str() + "." + (*it)[2].str());
    ++ports;
  }
  CHECK(ports == 18);
  CHECK(addresses.size() == 18);
  CHECK(addresses.count("0x04.0x1") == 1); // the 18th port: slot 2 + 16/8, function 16%8 + 1
}

TEST_CASE("debug: sets only the DEBUG bit and marks the name and metadata") {
  core::TempDir dir;
  auto spec = test::make_volumes(dir.path());
  spec.debug = true;
  auto d = render(core::Root(dir.path()), spec);
  CHECK(d.policy == "0x10000001");
  CHECK(d.name == "td-test-debug");
  CHECK_THAT(d.xml, Catch::Contains("debug=\"yes\""));
}

TEST_CASE("no-tdx profile: renders a plain VM, labelled insecure, with the same disks and network") {
  core::TempDir dir;
  auto spec = test::make_volumes(dir.path());
  spec.net = {net::Mode::bridge, "br0", "52:54:00:12:34:56"};
  auto tdx_domain = render(core::Root(dir.path()), spec);
  spec.no_tdx = true;
  auto d = render(core::Root(dir.path()), spec);
  CHECK(d.insecure);
  CHECK_THAT(d.xml, !Catch::Contains("launchSecurity"));
  CHECK_THAT(d.xml, Catch::Contains("<description>INSECURE"));
  CHECK_THAT(d.xml, Catch::Contains("profile=\"no-tdx\""));
  CHECK_THAT(d.xml, Catch::Contains("insecure=\"yes\""));
  CHECK(count(d.xml, "<disk ") == count(tdx_domain.xml, "<disk "));
  CHECK(count(d.xml, "<interface ") == 1);
  CHECK(d.topology_digest != tdx_domain.topology_digest);
}

TEST_CASE("topology digest: deterministic, follows hardware, ignores the name") {
  core::TempDir dir;
  test::make_gpu_host(dir.path(), 2, 0);
  core::Root root(dir.path());
  auto spec = test::make_volumes(dir.path());
  spec.gpus = {test::gpu_bdf(0)};
  auto a = render(root, spec);
  auto b = render(root, spec);
  CHECK(a.xml == b.xml);
  CHECK(a.topology_digest == b.topology_digest);
  auto renamed = spec;
  renamed.name = "other";
  CHECK(render(root, renamed).topology_digest == a.topology_digest);
  auto two = spec;
  two.gpus = {test::gpu_bdf(1), test::gpu_bdf(0)}; // order given does not matter, count does
  auto c = render(root, two);
  CHECK(c.topology_digest != a.topology_digest);
  auto more_memory = spec;
  more_memory.memory_gib = 8;
  CHECK(render(root, more_memory).topology_digest != a.topology_digest);
  // The digest is recorded in the metadata.
  CHECK_THAT(a.xml, Catch::Contains("<tdxctl:topology-digest>" + a.topology_digest));
}

TEST_CASE("mrConfigId: missing or malformed manifest is an error naming the file") {
  core::TempDir dir;
  auto spec = test::make_volumes(dir.path());
  fs::remove(dir.path() / "config.img.sha384");
  auto missing = td::prepare_domain(core::Root(dir.path()), spec, "kvm", "");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().category == core::Category::not_ready);
  CHECK_THAT(missing.error().message, Catch::Contains("config.img.sha384"));
  test::put(dir.path(), "config.img.sha384", "abc  config.img\n");
  auto bad = td::prepare_domain(core::Root(dir.path()), spec, "kvm", "");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().category == core::Category::invalid_input);
  CHECK_THAT(bad.error().message, Catch::Contains("config.img.sha384:1: expected sha384sum format"));
  spec.mr_config_id = core::base64_encode(std::vector<uint8_t>(48, 1)); // explicit wins
  CHECK(td::prepare_domain(core::Root(dir.path()), spec, "kvm", ""));
}

TEST_CASE("measurements accept 96 hex digits or base64 of exactly 48 bytes") {
  CHECK(td::parse_measurement(std::string(96, 'a'), "x").value() ==
        core::base64_encode(std::vector<uint8_t>(48, 0xaa)));
  auto short_b64 = td::parse_measurement(core::base64_encode(std::vector<uint8_t>(32, 1)), "--mr-owner");
  REQUIRE_FALSE(short_b64);
  CHECK_THAT(short_b64.error().message, Catch::Contains("--mr-owner: expected 48 bytes"));
}

TEST_CASE("td.qgs_socket: unix:PATH renders as the path; vsock is refused at its key") {
  core::TempDir dir;
  test::put(dir.path(), "host.yaml", "td:\n  qgs_socket: unix:/run/qgs/qgs.sock\n");
  CHECK(up::load_td_spec(dir.path() / "host.yaml").qgs_socket == "/run/qgs/qgs.sock");
  auto spec = test::make_volumes(dir.path());
  spec.net = {net::Mode::bridge, "br-tdx", "52:54:00:12:34:56"};
  spec.qgs_socket = "/run/qgs/qgs.sock";
  CHECK_THAT(render(core::Root(dir.path()), spec).xml,
             Catch::Contains("<quoteGenerationService path=\"/run/qgs/qgs.sock\"/>"));

  test::put(dir.path(), "vsock.yaml", "td:\n  qgs_socket: vsock:2:4050\n");
  try {
    up::load_td_spec(dir.path() / "vsock.yaml");
    FAIL("a vsock QGS was accepted");
  } catch (const core::Failure& f) {
    CHECK(f.error().category == core::Category::invalid_input);
    CHECK_THAT(f.error().message, Catch::Contains("vsock.yaml:2:15: key 'td.qgs_socket': td.qgs_socket "
                                                  "'vsock:2:4050': libvirt's quoteGenerationService"));
    CHECK_THAT(f.error().message, Catch::Contains("(or none)"));
  }
}

TEST_CASE("host.yaml td: section loads, and bad keys are named with their position") {
  core::TempDir dir;
  test::put(dir.path(), "host.yaml",
            "td:\n  name: prod\n  vcpus: 8\n  memory_gib: 64\n  gpus: [18:00.0]\n"
            "  network:\n    bridge: br-tdx\n  qgs_socket: none\n");
  auto spec = up::load_td_spec(dir.path() / "host.yaml");
  CHECK(spec.name == "prod");
  CHECK(spec.vcpus == 8);
  CHECK(spec.gpus == std::vector<std::string>{"0000:18:00.0"});
  CHECK(spec.net.mode == net::Mode::bridge);
  CHECK(spec.qgs_socket.empty());
  test::put(dir.path(), "bad.yaml", "td:\n  vcpu: 8\n  gpus: [zz]\n  network:\n    bridge: a\n    macvtap: b\n");
  try {
    up::load_td_spec(dir.path() / "bad.yaml");
    FAIL("expected an error");
  } catch (const core::Failure& f) {
    CHECK(f.error().category == core::Category::invalid_input);
    CHECK_THAT(f.error().message, Catch::Contains("bad.yaml:2:3: key 'td.vcpu': unknown key"));
    CHECK_THAT(f.error().message, Catch::Contains("td.gpus"));
    CHECK_THAT(f.error().message, Catch::Contains("td.network.macvtap"));
  }
  // The other sections are checked as `config check` checks them: one loader.
  test::put(dir.path(), "other.yaml", "attest:\n  anything: goes\ntd:\n  name: prod\n");
  CHECK_THROWS_WITH(up::load_td_spec(dir.path() / "other.yaml"),
                    Catch::Contains("other.yaml:2:3: key 'attest.anything': unknown key"));
}

TEST_CASE("host.yaml td.measure names a capture; it and the firmware are taken from the file's directory") {
  core::TempDir dir;
  test::put(dir.path(), "host.yaml",
            "td:\n  firmware: fw/TDVF.fd\n  measure:\n    platform: captures/platform.json\n");
  auto spec = up::load_td_spec(dir.path() / "host.yaml");
  CHECK(spec.firmware == (dir.path() / "fw/TDVF.fd").string());
  CHECK(spec.measure_platform == (dir.path() / "captures/platform.json").string());
  CHECK(spec.measure_acpi_tables.empty());
  test::put(dir.path(), "both.yaml", "td:\n  measure:\n    platform: p.json\n    acpi_tables: a.bin\n    acpi: x\n");
  try {
    up::load_td_spec(dir.path() / "both.yaml");
    FAIL("expected an error");
  } catch (const core::Failure& f) {
    CHECK_THAT(f.error().message, Catch::Contains("key 'td.measure.acpi_tables': give platform or acpi_tables"));
    CHECK_THAT(f.error().message, Catch::Contains("both.yaml:5:5: key 'td.measure.acpi': unknown key"));
  }
}

TEST_CASE("tdx_policy_hex: SEPT_VE_DISABLE always, DEBUG only under --debug") {
  CHECK(td::tdx_policy_hex(false) == "0x10000000");
  CHECK(td::tdx_policy_hex(true) == "0x10000001");
}

TEST_CASE("mmio_aperture_mib: gpu_mmio_gib per GPU and 1 GiB per NVSwitch, in MiB, without overflow") {
  CHECK(td::mmio_aperture_mib(256, 8, 4) == 1024LL * (8 * 256 + 4));
  CHECK(td::mmio_aperture_mib(256, 1, 0) == 262144);
  CHECK(td::mmio_aperture_mib(256, 0, 2) == 2048);
  CHECK(td::mmio_aperture_mib(1 << 20, 64, 0) == 1024LL * 64 * (1 << 20));
}
