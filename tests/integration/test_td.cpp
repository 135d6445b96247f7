// `tdxctl td` through the built binary: XML rendering (validated with the
// schema option), one-invocation launches against libvirt's test driver with
// --no-tdx, --dry-run, status/list/stop of the test driver's own domain, and
// refusals with their exit codes (2 bad input, 3 precondition).
#include "support/fixtures.hpp"

#include "tdxctl/core/runner.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <map>

using namespace tdx;
namespace fs = std::filesystem;

namespace {

struct Volumes {
  core::TempDir dir;
  std::vector<std::string> flags;
  Volumes() {
    test::put(dir.path(), "td.qcow2", std::string("QFI\xfb", 4));
    test::put_boot_files(dir.path() / "td.qcow2");
    test::put(dir.path(), "config.img", "config");
    // sha384sum of "config"
    core::Command sum;
    sum.argv = {"sha384sum", "config.img"};
    sum.cwd = dir.path();
    auto done = core::RealRunner().run(sum);
    test::put(dir.path(), "config.img.sha384", done->out);
    test::put(dir.path(), "OVMF.fd", "fw");
    flags = {"--image", (dir.path() / "td.qcow2").string(), "--config-volume",
             (dir.path() / "config.img").string(), "--firmware", (dir.path() / "OVMF.fd").string(),
             "--vcpus", "2", "--memory-gib", "2"};
  }
};

std::vector<std::string> cat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

} // namespace

TEST_CASE("td xml renders a schema-valid TD and reports its digest in JSON") {
  Volumes v;
  auto rng = (test::testdata() / "libvirt-schemas/domain.rng").string();
  auto r = test::run_tdxctl(cat({"td", "xml", "-o", "json", "--bridge", "br0", "--schema", rng}, v.flags));
  INFO(r.err);
  REQUIRE(r.exit_status == 0);
  auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["schema"] == "tdxctl.td.xml/1");
  CHECK(doc["tdx"] == true);
  CHECK(doc["policy"] == "0x10000000");
  CHECK(doc["mr_config_id"].get<std::string>().size() == 64);
  CHECK(doc["topology_digest"].get<std::string>().starts_with("sha384:"));
  CHECK_THAT(doc["xml"].get<std::string>(), Catch::Contains("<launchSecurity type=\"tdx\">"));
  // text mode prints the XML itself
  auto text = test::run_tdxctl(cat({"td", "xml"}, v.flags));
  CHECK(text.exit_status == 0);
  CHECK_THAT(text.out, Catch::StartsWith("<?xml"));
}

TEST_CASE("td xml makes every path a flag names absolute, and the XML stays schema-valid") {
  Volumes v;
  auto rng = (test::testdata() / "libvirt-schemas/domain.rng").string();
  fs::create_directories(v.dir / "sub");
  core::Command c;
  c.argv = {TDXCTL_BINARY, "td", "xml", "--bridge", "br0", "--schema", rng, "--vcpus", "2", "--memory-gib", "2",
            "--image", "td.qcow2", "--config-volume", "./config.img", "--cache-volume", "sub/../cache.img",
            "--containerd-volume", "sub/containerd.img", "--firmware", "OVMF.fd"};
  c.cwd = v.dir.path(); // the paths are relative to where tdxctl runs
  auto r = core::RealRunner().run(c);
  REQUIRE(r);
  INFO(r->err);
  REQUIRE(r->exit_status == 0); // --schema: libvirt's RelaxNG takes only absolute paths
  auto dir = fs::canonical(v.dir.path()).string();
  for (const char* file : {"td.qcow2", "config.img", "cache.img", "sub/containerd.img"})
    CHECK_THAT(r->out, Catch::Contains("<source file=\"" + dir + "/" + file + "\""));
  CHECK_THAT(r->out, Catch::Contains(">" + dir + "/OVMF.fd</loader>"));
  CHECK(r->out.find("file=\"td.qcow2\"") == std::string::npos);
}

TEST_CASE("td xml --no-tdx warns loudly on stderr and in JSON") {
  Volumes v;
  auto r = test::run_tdxctl(cat({"td", "xml", "--no-tdx", "-o", "json"}, v.flags));
  REQUIRE(r.exit_status == 0);
  CHECK_THAT(r.err, Catch::Contains("WARNING: INSECURE"));
  auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["insecure"] == true);
  CHECK(doc["tdx"] == false);
  CHECK(doc["policy"].is_null());
}

TEST_CASE("td xml: bad input is exit 2 with the key named") {
  Volumes v;
  auto r = test::run_tdxctl(cat({"td", "xml", "--mr-owner", "abcd"}, v.flags));
  CHECK(r.exit_status == 2);
  CHECK_THAT(r.err, Catch::Contains("--mr-owner"));
  test::put(v.dir.path(), "host.yaml", "td:\n  memory_gib: lots\n");
  auto y = test::run_tdxctl({"td", "xml", "-c", (v.dir.path() / "host.yaml").string()});
  CHECK(y.exit_status == 2);
  CHECK_THAT(y.err, Catch::Contains("host.yaml:2:15: key 'td.memory_gib'"));
  // A misspelt section is refused as `up` and `config check` refuse it.
  test::put(v.dir.path(), "host.yaml", "td:\n  memory_gib: 2\nnetwrok:\n  mode: bridge\n");
  auto section = test::run_tdxctl({"td", "xml", "-c", (v.dir.path() / "host.yaml").string()});
  CHECK(section.exit_status == 2);
  CHECK_THAT(section.err, Catch::Contains("host.yaml:3:1: key 'netwrok': unknown key"));
}

TEST_CASE("td launch --no-tdx on test:///default defines and starts in one invocation") {
  Volumes v;
  auto base = cat({"--connect", "test:///default", "-o", "json", "td", "launch", "--no-tdx",
                   "--name", "dev"}, v.flags);
  auto dry = test::run_tdxctl(cat({"--dry-run"}, base));
  INFO(dry.err);
  REQUIRE(dry.exit_status == 0);
  auto plan = nlohmann::json::parse(dry.out);
  CHECK(plan["changed"] == false);
  CHECK(plan["plan"].size() == 3); // console log directory, define, start
  auto r = test::run_tdxctl(base);
  INFO(r.err);
  REQUIRE(r.exit_status == 0);
  auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["schema"] == "tdxctl.td.launch/1");
  CHECK(doc["changed"] == true);
  CHECK(doc["insecure"] == true);
  CHECK_THAT(doc["warning"].get<std::string>(), Catch::StartsWith("INSECURE"));
  CHECK_THAT(r.err, Catch::Contains("WARNING: INSECURE"));
}

TEST_CASE("td xml shows the direct boot; launch refuses a changed kernel with exit 3; --boot firmware") {
  Volumes v;
  auto rng = (test::testdata() / "libvirt-schemas/domain.rng").string();
  auto r = test::run_tdxctl(cat({"td", "xml", "-o", "json", "--schema", rng}, v.flags));
  INFO(r.err);
  REQUIRE(r.exit_status == 0);
  auto doc = nlohmann::json::parse(r.out);
  auto kernel = (v.dir.path() / "td.qcow2.vmlinuz").string();
  CHECK(doc["boot"]["mode"] == "direct");
  CHECK(doc["boot"]["kernel"]["path"] == kernel);
  CHECK(doc["boot"]["cmdline"] == "root=/dev/mapper/root ro console=ttyS0");
  CHECK_THAT(doc["xml"].get<std::string>(), Catch::Contains("<kernel>" + kernel + "</kernel>"));
  CHECK_THAT(doc["xml"].get<std::string>(), Catch::Contains("<cmdline>root=/dev/mapper/root ro console=ttyS0</cmdline>"));

  test::put(v.dir.path(), "td.qcow2.vmlinuz", "a kernel the build never saw");
  auto launch = test::run_tdxctl(cat({"--connect", "test:///default", "-o", "json", "td", "launch", "--no-tdx",
                                      "--name", "tampered"}, v.flags));
  CHECK(launch.exit_status == 3);
  CHECK_THAT(launch.err, Catch::Contains(kernel + " does not match the image's manifest"));
  CHECK(nlohmann::json::parse(launch.out)["code"] == "td.boot_file_mismatch");

  auto firmware = test::run_tdxctl(cat({"td", "xml", "-o", "json", "--boot", "firmware"}, v.flags));
  REQUIRE(firmware.exit_status == 0);
  auto f = nlohmann::json::parse(firmware.out);
  CHECK(f["boot"]["mode"] == "firmware");
  CHECK_THAT(f["xml"].get<std::string>(), Catch::Contains("<boot dev=\"hd\"/>"));
  auto bad = test::run_tdxctl(cat({"td", "xml", "--boot", "bios"}, v.flags));
  CHECK(bad.exit_status == 2);
}

TEST_CASE("td launch logs the console; td logs prints it, td console needs a running console") {
  Volumes v;
  core::TempDir root;
  test::put(root.path(), (v.dir.path() / "OVMF.fd").string(), "fw"); // firmware is looked for under --root
  auto launch = test::run_tdxctl(cat({"--root", root.path().string(), "--connect", "test:///default", "-o", "json",
                                      "td", "launch", "--no-tdx", "--name", "logged"},
                                     v.flags));
  INFO(launch.err);
  REQUIRE(launch.exit_status == 0);
  auto dir = root.path() / "var/log/tdxctl";
  REQUIRE(fs::is_directory(dir));
  CHECK((fs::status(dir).permissions() & fs::perms::all) == fs::perms(0750));
  // The XML names the file as libvirt sees it, not under --root.
  auto xml = test::run_tdxctl(cat({"td", "xml", "--no-tdx", "--name", "logged"}, v.flags));
  CHECK_THAT(xml.out, Catch::Contains("<log file=\"/var/log/tdxctl/logged.console.log\" append=\"on\"/>"));

  // virtlogd's backup (.0) comes first, then the current file with the start marker.
  test::put(dir, "logged.console.log.0", "an older boot\n");
  auto logs = test::run_tdxctl({"--root", root.path().string(), "td", "logs", "logged"});
  INFO(logs.err);
  REQUIRE(logs.exit_status == 0);
  CHECK_THAT(logs.out, Catch::StartsWith("an older boot\n\n-- tdxctl: logged started 20"));
  auto json = nlohmann::json::parse(
      test::run_tdxctl({"--root", root.path().string(), "-o", "json", "td", "logs", "logged"}).out);
  CHECK(json["file"] == "/var/log/tdxctl/logged.console.log");
  // --since: from the first start at or after TIME; none after 2099.
  auto since = test::run_tdxctl({"--root", root.path().string(), "td", "logs", "logged", "--since", "2000-01-01T00:00:00Z"});
  CHECK_THAT(since.out, Catch::StartsWith("-- tdxctl: logged started 20"));
  auto later = test::run_tdxctl({"--root", root.path().string(), "td", "logs", "logged", "--since", "2099-01-01T00:00:00Z"});
  CHECK(later.exit_status == 0);
  CHECK(later.out.empty());

  auto none = test::run_tdxctl({"--root", root.path().string(), "td", "logs", "nope"});
  CHECK(none.exit_status == 3);
  CHECK_THAT(none.err, Catch::Contains("no console log for nope"));
  auto bad = test::run_tdxctl({"--root", root.path().string(), "td", "logs", "../../etc/passwd"});
  CHECK(bad.exit_status == 2);
  CHECK(test::run_tdxctl({"td", "xml", "--name", "../x"}).exit_status == 2);

  // Each invocation has its own test:///default, where only the driver's
  // own domain exists; that driver has no console to give.
  auto gone = test::run_tdxctl({"--connect", "test:///default", "td", "console", "logged"});
  CHECK(gone.exit_status == 3);
  CHECK_THAT(gone.err, Catch::Contains("no domain logged"));
  auto console = test::run_tdxctl({"--connect", "test:///default", "td", "console", "test"});
  CHECK(console.exit_status == 3);
  CHECK_THAT(console.err, Catch::Contains("cannot open the console of test"));
}

TEST_CASE("td list, status and stop on the test driver's own domain") {
  auto list = test::run_tdxctl({"--connect", "test:///default", "td", "list", "-o", "json"});
  REQUIRE(list.exit_status == 0);
  auto doc = nlohmann::json::parse(list.out);
  REQUIRE(doc["domains"].size() >= 1);
  CHECK(doc["domains"][0]["name"] == "test");
  auto st = test::run_tdxctl({"--connect", "test:///default", "td", "status", "test", "-o", "json"});
  REQUIRE(st.exit_status == 0);
  auto s = nlohmann::json::parse(st.out);
  CHECK(s["state"] == "running");
  CHECK(s["tdx"] == false);
  CHECK(s["insecure"] == true);
  // With -c, status compares the layout the config renders now with the recorded one.
  Volumes v;
  test::put(v.dir.path(), "host.yaml", "td:\n  image: " + (v.dir.path() / "td.qcow2").string() +
                                           "\n  no_tdx: true\n");
  auto cmp = test::run_tdxctl({"--connect", "test:///default", "td", "status", "test", "-c",
                               (v.dir.path() / "host.yaml").string(), "-o", "json"});
  INFO(cmp.err);
  REQUIRE(cmp.exit_status == 0);
  auto c = nlohmann::json::parse(cmp.out);
  CHECK(c["topology_changed"] == true);
  CHECK(c["expected_topology_digest"].get<std::string>().starts_with("sha384:"));
  auto text = test::run_tdxctl({"--connect", "test:///default", "td", "status", "test"});
  CHECK_THAT(text.out, Catch::Contains("WARNING: test is not a trust domain"));
  auto stop = test::run_tdxctl({"--connect", "test:///default", "-o", "json", "td", "stop", "test"});
  REQUIRE(stop.exit_status == 0);
  CHECK(nlohmann::json::parse(stop.out)["changed"] == true);
  auto missing = test::run_tdxctl({"--connect", "test:///default", "td", "status", "nope"});
  CHECK(missing.exit_status == 3);
  CHECK_THAT(missing.err, Catch::Contains("no domain named 'nope'"));
}

TEST_CASE("td launch refusals: no TDX in libvirt, missing volume, unbound GPU, QGS") {
  Volumes v;
  auto tdx = test::run_tdxctl(cat({"--connect", "test:///default", "td", "launch"}, v.flags));
  CHECK(tdx.exit_status == 3);
  CHECK_THAT(tdx.err, Catch::Contains("cannot run TDX"));

  auto missing = test::run_tdxctl(cat({"--connect", "test:///default", "td", "launch", "--no-tdx",
                                       "--cache-volume", "/nonexistent/cache.img"}, v.flags));
  CHECK(missing.exit_status == 3);
  CHECK_THAT(missing.err, Catch::Contains("/nonexistent/cache.img does not exist"));

  core::TempDir root;
  test::make_ready_host(root.path());
  fs::remove(root.path() / "sys/devices/pci0000:17/0000:17:01.0/0000:18:00.0/driver");
  auto unbound = test::run_tdxctl(cat({"--root", root.path().string(), "--connect",
                                       "test:///default", "td", "launch", "--no-tdx", "--gpu",
                                       "18:00.0"}, v.flags));
  CHECK(unbound.exit_status == 3);
  CHECK_THAT(unbound.err, Catch::Contains("0000:18:00.0 is bound to no driver, not vfio-pci"));

  core::TempDir empty;
  auto qgs = test::run_tdxctl(cat({"--root", empty.path().string(), "--connect",
                                   "test:///default", "td", "launch", "--require-attestation",
                                   "--no-qgs"}, v.flags));
  CHECK(qgs.exit_status == 3);
  CHECK_THAT(qgs.err, Catch::Contains("--require-attestation"));
}

TEST_CASE("td xml and host check take the QGS as PATH or unix:PATH, and refuse vsock with exit 2") {
  Volumes v;
  auto rng = (test::testdata() / "libvirt-schemas/domain.rng").string();
  auto unix_form = test::run_tdxctl(cat({"td", "xml", "--bridge", "br0", "--schema", rng,
                                         "--qgs-socket", "unix:/run/qgs/qgs.sock"}, v.flags));
  INFO(unix_form.err);
  REQUIRE(unix_form.exit_status == 0);
  CHECK_THAT(unix_form.out, Catch::Contains("<quoteGenerationService path=\"/run/qgs/qgs.sock\"/>"));

  auto vsock = test::run_tdxctl(cat({"td", "xml", "--bridge", "br0", "--qgs-socket", "vsock:2:4050"}, v.flags));
  CHECK(vsock.exit_status == 2);
  CHECK_THAT(vsock.err, Catch::Contains("--qgs-socket 'vsock:2:4050'"));
  CHECK_THAT(vsock.err, Catch::Contains("unix:/ABSOLUTE/PATH"));
  CHECK(vsock.out.find("vsock:2:4050\"") == std::string::npos); // nothing rendered

  core::TempDir empty;
  auto check = test::run_tdxctl({"--root", empty.path().string(), "host", "check", "--no-libvirt",
                                 "--qgs-socket", "vsock:2:4050"});
  CHECK(check.exit_status == 2);
  CHECK_THAT(check.err, Catch::Contains("libvirt's quoteGenerationService takes only a UNIX socket path"));
}

namespace {

// Validates a VirtualMachine (JSON) with tests/kubevirt/validate.py against
// KubeVirt's published OpenAPI schema, strictly; returns its report.
core::Completed validate_kubevirt(const fs::path& dir, const nlohmann::json& manifest) {
  test::put(dir, "vm.json", manifest.dump());
  core::Command c;
  c.argv = {"python3", (test::tests_dir() / "kubevirt/validate.py").string(),
            (test::testdata() / "kubevirt/swagger.json").string(), (dir / "vm.json").string()};
  auto r = core::RealRunner().run(c);
  REQUIRE(r);
  return *r;
}

} // namespace

TEST_CASE("td render --format kubevirt: a VirtualMachine KubeVirt's OpenAPI schema accepts, nothing dropped silently") {
  Volumes v;
  core::TempDir root;
  test::make_ready_host(root.path()); // one H100 (10de:2330) on vfio-pci at 0000:18:00.0
  // An excerpt of pci.ids (Debian's pci.ids package), as the device plugin reads it.
  test::put(root.path(), "usr/share/misc/pci.ids",
            "# excerpt\n10b5  Broadcom / LSI\n\t2330  Not NVIDIA\n10de  NVIDIA Corporation\n"
            "\t2324  GH100 [H800]\n\t2330  GH100[H100 SXM5 80GB]\n\t\t10de 16c1  H100 SXM5 80GB\n"
            "10df  Emulex Corporation\n");
  auto r = test::run_tdxctl(cat({"--root", root.path().string(), "td", "render", "--format", "kubevirt", "-o",
                                 "json", "--bridge", "br0", "--gpu", "18:00.0", "--name", "td-0",
                                 "--cache-volume", (v.dir.path() / "cache.img").string()},
                                v.flags));
  INFO(r.err);
  REQUIRE(r.exit_status == 0);
  auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["schema"] == "tdxctl.td.kubevirt/1");
  auto& vm = doc["manifest"];
  auto report = validate_kubevirt(v.dir.path(), vm);
  INFO(report.out + report.err);
  CHECK(report.exit_status == 0);

  auto& domain = vm["spec"]["template"]["spec"]["domain"];
  CHECK(domain["launchSecurity"] == nlohmann::json{{"tdx", nlohmann::json::object()}});
  CHECK(domain["firmware"]["bootloader"]["efi"]["persistent"] == false);
  CHECK(domain["memory"]["guest"] == "2Gi");
  CHECK(domain["cpu"]["cores"] == 2);
  CHECK(domain["devices"]["hostDevices"][0]["deviceName"] == "nvidia.com/GH100H100_SXM5_80GB");
  CHECK(domain["devices"]["disks"][1]["disk"]["readonly"] == true);
  // The serials libvirt gives: the guest finds its volumes by them.
  CHECK(domain["devices"]["disks"][0]["serial"] == "td-root");
  CHECK(domain["devices"]["disks"][2]["serial"] == "td-cache");
  CHECK(vm["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] == "td-0-root");
  CHECK(doc["claims"][0]["path"] == (v.dir.path() / "td.qcow2").string());
  CHECK(doc["cluster"]["feature_gates"] == nlohmann::json{"WorkloadEncryptionTDX", "HostDevices", "VSOCK"});
  CHECK(doc["cluster"]["qgs_socket_path"] == "/var/run/tdx-qgs/qgs.socket");
  CHECK(doc["cluster"]["permitted_host_devices"][0]["pciVendorSelector"] == "10DE:2330");
  // mrConfigId and the host-file direct boot have no KubeVirt form: reported, with why.
  std::map<std::string, std::string> unmapped;
  for (auto& u : doc["unmapped"]) unmapped[u["key"].get<std::string>()] = u["reason"].get<std::string>();
  REQUIRE(unmapped.count("td.mr_config_id") == 1);
  CHECK_THAT(unmapped["td.mr_config_id"], Catch::Contains("no mrConfigId"));
  CHECK(unmapped.count("td.boot") == 1);
  CHECK(unmapped.count("td.gpu_mmio_gib") == 1);
  CHECK(unmapped.count("td.network.bridge") == 1);
  CHECK(doc["cluster"]["permitted_host_devices"][0]["externalResourceProvider"] == true);
  CHECK_THAT(r.err, Catch::Contains("have no KubeVirt form"));

  // With a kernel container, direct boot maps to kernelBoot with the manifest's command line.
  auto kb = test::run_tdxctl(cat({"td", "render", "--format", "kubevirt", "-o", "json", "--kernel-container",
                                  "registry.example/td-kernel:1"}, v.flags));
  REQUIRE(kb.exit_status == 0);
  auto kdoc = nlohmann::json::parse(kb.out);
  auto& boot = kdoc["manifest"]["spec"]["template"]["spec"]["domain"]["firmware"]["kernelBoot"];
  CHECK(boot["kernelArgs"] == "root=/dev/mapper/root ro console=ttyS0");
  CHECK(boot["container"]["kernelPath"] == "/boot/td.qcow2.vmlinuz");
  CHECK(validate_kubevirt(v.dir.path(), kdoc["manifest"]).exit_status == 0);

  // The text form is YAML with the same manifest, after comments saying the same.
  auto text = test::run_tdxctl(cat({"td", "render", "--format", "kubevirt"}, v.flags));
  REQUIRE(text.exit_status == 0);
  CHECK_THAT(text.out, Catch::Contains("# Not expressible in KubeVirt, so not in this manifest:"));
  CHECK_THAT(text.out, Catch::Contains("#   td.mr_config_id = "));
  auto yaml = YAML::Load(text.out);
  CHECK(yaml["apiVersion"].as<std::string>() == "kubevirt.io/v1");
  CHECK(yaml["spec"]["template"]["spec"]["domain"]["launchSecurity"]["tdx"].IsMap());

  // The validator is not vacuous: a field KubeVirt does not define fails it.
  domain["launchSecurity"] = {{"tdx", {{"mrConfigId", "x"}}}};
  CHECK(validate_kubevirt(v.dir.path(), vm).exit_status == 1);
}

TEST_CASE("td render --format kubevirt refuses names Kubernetes refuses and flags of the other format") {
  Volumes v;
  auto bad = test::run_tdxctl(cat({"td", "render", "--format", "kubevirt", "--name", "My_TD"}, v.flags));
  CHECK(bad.exit_status == 2);
  CHECK_THAT(bad.err, Catch::Contains("'My_TD' is not a Kubernetes name"));
  auto schema = test::run_tdxctl(cat({"td", "render", "--format", "kubevirt", "--schema", "x.rng"}, v.flags));
  CHECK(schema.exit_status == 2);
  CHECK_THAT(schema.err, Catch::Contains("does not apply to --format kubevirt"));
  // A kernel container means nothing to a TD that boots its disk's bootloader.
  auto kc = test::run_tdxctl(cat({"td", "render", "--format", "kubevirt", "--boot", "firmware", "--kernel-container",
                                  "registry.example/k:1"}, v.flags));
  CHECK(kc.exit_status == 2);
  CHECK_THAT(kc.err, Catch::Contains("td.boot: firmware"));
  // --format libvirt is td xml.
  auto libvirt = test::run_tdxctl(cat({"td", "render"}, v.flags));
  REQUIRE(libvirt.exit_status == 0);
  CHECK_THAT(libvirt.out, Catch::StartsWith("<?xml"));
}
