// tdxctl gpu as a binary: JSON schemas, exit codes, dry-run, the emulated
// kernel moving driver links while the real binary binds and resets, the
// real H100-in-a-VM capture refusing, and ppcie/cc through the admin-tool
// double.
#include "support/gpu_hgx.hpp"
#include "support/gpu_tool.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace tdx;
namespace hgx = test::hgx;
namespace fs = std::filesystem;

TEST_CASE("tdxctl gpu list -o json on the HGX fixture") {
  core::TempDir dir;
  hgx::build(dir.path());
  auto r = test::run_tdxctl({"--root", dir.path().string(), "gpu", "list", "-o", "json"});
  INFO(r.err);
  REQUIRE(r.exit_status == 0);
  auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["schema"] == "tdxctl.gpu.list/1");
  REQUIRE(doc["devices"].size() == 12);
  CHECK(doc["devices"][4]["address"] == "0000:18:00.0");
  CHECK(doc["devices"][4]["group_members"][0]["bridge"] == true);
  auto text = test::run_tdxctl({"--root", dir.path().string(), "gpu", "list"});
  CHECK_THAT(text.out, Catch::Contains("0000:ba:00.0  gpu       H100 SXM5 80GB"));
  CHECK_THAT(text.out, Catch::Contains("0000:ba:00.1 [snd_hda_intel]"));
}

TEST_CASE("tdxctl gpu bind --all binds for real on the emulated kernel, then says nothing to do") {
  core::TempDir dir;
  hgx::build(dir.path());
  hgx::KernelEmulator kernel(dir.path());
  auto dry = test::run_tdxctl({"--root", dir.path().string(), "gpu", "bind", "--all", "--dry-run"});
  REQUIRE(dry.exit_status == 0);
  CHECK_THAT(dry.out, Catch::Contains("write 'vfio-pci' to /sys/bus/pci/devices/0000:18:00.0/driver_override"));
  CHECK_THAT(dry.out, Catch::Contains("write 0000:18:00.0 to /sys/bus/pci/drivers/nvidia/unbind"));
  CHECK(hgx::driver_of(dir.path(), "0000:18:00.0") == "nvidia");

  auto r = test::run_tdxctl({"--root", dir.path().string(), "gpu", "bind", "--all", "-o", "json"});
  INFO(r.err);
  REQUIRE(r.exit_status == 0);
  auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["schema"] == "tdxctl.gpu.bind/1");
  CHECK(doc["changed"] == true);
  for (const auto& a : hgx::gpus) CHECK(hgx::driver_of(dir.path(), a) == "vfio-pci");
  auto again = test::run_tdxctl({"--root", dir.path().string(), "gpu", "bind", "--all"});
  CHECK(again.exit_status == 0);
  CHECK_THAT(again.out, Catch::Contains("nothing to do"));

  auto un = test::run_tdxctl({"--root", dir.path().string(), "gpu", "unbind", "--all", "-o", "json"});
  REQUIRE(un.exit_status == 0);
  CHECK(nlohmann::json::parse(un.out)["schema"] == "tdxctl.gpu.unbind/1");
  CHECK(hgx::driver_of(dir.path(), "0000:18:00.0") == "nvidia");
}

TEST_CASE("tdxctl gpu bind: exit 3 naming the holder, the no-IOMMU capture, bad input exit 2") {
  core::TempDir dir;
  hgx::build(dir.path() / "hgx");
  hgx::add_process(dir.path() / "hgx", 2718, "nvidia-persiste", "/dev/nvidia0");
  auto busy = test::run_tdxctl({"--root", (dir.path() / "hgx").string(), "gpu", "bind", "18:00.0"});
  CHECK(busy.exit_status == 3);
  CHECK_THAT(busy.err, Catch::Contains("nvidia-persiste (pid 2718) holds /dev/nvidia0"));
  auto json = test::run_tdxctl(
      {"--root", (dir.path() / "hgx").string(), "-o", "json", "gpu", "bind", "18:00.0"});
  CHECK(nlohmann::json::parse(json.out)["code"] == "gpu.in_use");

  auto capture = test::extract_capture(dir.path(), "h100-vm-passthrough.tgz");
  auto vm = test::run_tdxctl({"--root", capture.string(), "gpu", "bind", "--all"});
  CHECK(vm.exit_status == 3);
  CHECK_THAT(vm.err, Catch::Contains("0000:00:06.0 (H100 SXM5 80GB): it has no IOMMU group"));

  auto bad = test::run_tdxctl({"--root", capture.string(), "gpu", "bind", "zz:00.0"});
  CHECK(bad.exit_status == 2);
  CHECK_THAT(bad.err, Catch::Contains("'zz:00.0' is not a PCI address"));
  auto none = test::run_tdxctl({"--root", capture.string(), "gpu", "unbind"});
  CHECK(none.exit_status == 2);
}

TEST_CASE("tdxctl gpu ppcie on/status through the admin-tool double") {
  core::TempDir dir;
  auto root = dir.path() / "root";
  hgx::build(root);
  auto tool = dir.path() / "tool";
  fs::create_directories(tool);
  fs::copy_file(test::tests_dir() / "gpu/nvidia_gpu_tools.py", tool / "nvidia_gpu_tools.py");
  nlohmann::json state;
  state["0000:db:00.0"] = {{"kind", "gpu"}, {"cc", "on"}, {"ppcie", "off"}};
  std::ofstream(tool / "state.json") << state.dump();

  auto missing = test::run_tdxctl({"--root", root.string(), "gpu", "ppcie", "status", "--all"},
                                  {}, {"TDXCTL_GPU_ADMIN_TOOL=" + (dir.path() / "none").string()});
  CHECK(missing.exit_status == 3);
  CHECK_THAT(missing.err, Catch::Contains("https://github.com/NVIDIA/gpu-admin-tools"));

  auto on = test::run_tdxctl({"--root", root.string(), "gpu", "ppcie", "on", "0000:db:00.0",
                              "--admin-tool", tool.string(), "-o", "json"});
  INFO(on.err);
  REQUIRE(on.exit_status == 0);
  auto doc = nlohmann::json::parse(on.out);
  CHECK(doc["schema"] == "tdxctl.gpu.ppcie/1");
  CHECK(doc["changed"] == true);
  CHECK(doc["steps"].size() == 2);

  auto status = test::run_tdxctl({"--root", root.string(), "gpu", "ppcie", "status", "db:00.0",
                                  "-o", "json"},
                                 {}, {"TDXCTL_GPU_ADMIN_TOOL=" + tool.string()});
  REQUIRE(status.exit_status == 0);
  auto s = nlohmann::json::parse(status.out);
  CHECK(s["schema"] == "tdxctl.gpu.ppcie.status/1");
  CHECK(s["devices"][0]["cc_mode"] == "off");
  CHECK(s["devices"][0]["ppcie_mode"] == "on");
}

TEST_CASE("tdxctl gpu list shows who holds each device, in text and JSON") {
  core::TempDir dir;
  hgx::build(dir.path());
  hgx::add_process(dir.path(), 2718, "nvidia-persiste", "/dev/nvidia0");
  hgx::add_process(dir.path(), 4242, "qemu-system-x86", "/dev/vfio/47");
  auto r = test::run_tdxctl({"--root", dir.path().string(), "gpu", "list", "-o", "json"});
  INFO(r.err);
  REQUIRE(r.exit_status == 0);
  auto doc = nlohmann::json::parse(r.out);
  const auto& devices = doc["devices"];
  CHECK(devices[4]["address"] == "0000:18:00.0");
  CHECK(devices[4]["in_use_by"] ==
        nlohmann::json::parse(R"([{"pid":2718,"process":"nvidia-persiste","files":["/dev/nvidia0"]}])"));
  CHECK(devices[5]["in_use_by"] == nlohmann::json::array()); // minor 1: not /dev/nvidia0
  CHECK(devices[11]["address"] == "0000:db:00.0");
  CHECK(devices[11]["in_use_by"][0]["process"] == "qemu-system-x86");
  CHECK(devices[11]["in_use_by"][0]["pid"] == 4242);

  auto text = test::run_tdxctl({"--root", dir.path().string(), "gpu", "list"});
  REQUIRE(text.exit_status == 0);
  CHECK_THAT(text.out, Catch::Contains("IN USE BY"));
  CHECK_THAT(text.out, Catch::Contains("nvidia-persiste (2718)"));
  CHECK_THAT(text.out, Catch::Contains("qemu-system-x86 (4242)"));
}

TEST_CASE("tdxctl gpu reset: the method named, the kernel's reset done, --rescan, refusals") {
  core::TempDir dir;
  hgx::build(dir.path());
  auto root = dir.path().string();
  auto dry = test::run_tdxctl({"--root", root, "--dry-run", "gpu", "reset", "db:00.0"});
  REQUIRE(dry.exit_status == 0);
  CHECK_THAT(dry.out, Catch::Contains("reset 0000:db:00.0 with flr: write 1 to "
                                      "/sys/bus/pci/devices/0000:db:00.0/reset"));

  auto r = test::run_tdxctl({"--root", root, "-o", "json", "gpu", "reset", "db:00.0", "--method", "bus"});
  INFO(r.err);
  REQUIRE(r.exit_status == 0);
  auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["schema"] == "tdxctl.gpu.reset/1");
  CHECK(doc["changed"] == true);
  CHECK(doc["devices"][0]["method"] == "bus");
  CHECK_THAT(doc["steps"][0]["summary"].get<std::string>(), Catch::StartsWith("reset 0000:db:00.0 with bus"));
  CHECK(doc["steps"][1]["status"] == "changed"); // the re-probe
  CHECK(hgx::slurp(dir.path() / "sys/bus/pci/devices/0000:db:00.0/reset") == "1\n");
  CHECK(hgx::slurp(dir.path() / "sys/bus/pci/devices/0000:db:00.0/reset_method") == "flr bus\n");

  auto nvidia = test::run_tdxctl({"--root", root, "gpu", "reset", "18:00.0"});
  CHECK(nvidia.exit_status == 3);
  CHECK_THAT(nvidia.err, Catch::Contains("is bound to nvidia"));
  auto both = test::run_tdxctl({"--root", root, "gpu", "reset", "18:00.0", "--rescan", "--method", "bus"});
  CHECK(both.exit_status == 2);

  hgx::KernelEmulator kernel(dir.path());
  auto rescan = test::run_tdxctl({"--root", root, "gpu", "reset", "--rescan", "18:00.0"});
  INFO(rescan.err);
  REQUIRE(rescan.exit_status == 0);
  CHECK_THAT(rescan.out, Catch::Contains("changed: write 1 to /sys/bus/pci/rescan"));
  CHECK(kernel.rescans() == 1);
  CHECK(hgx::driver_of(dir.path(), "0000:18:00.0") == "nvidia");

  hgx::add_process(dir.path(), 2718, "nvidia-persiste", "/dev/nvidia0");
  auto busy = test::run_tdxctl({"--root", root, "gpu", "reset", "--rescan", "18:00.0"});
  CHECK(busy.exit_status == 3);
  CHECK_THAT(busy.err, Catch::Contains("nvidia-persiste (pid 2718) holds /dev/nvidia0"));
}

TEST_CASE("tdxctl gpu cc on/status through the admin-tool double") {
  core::TempDir dir;
  auto root = dir.path() / "root";
  hgx::build(root);
  hgx::install_fake_tool(dir.path() / "tool", "off", "on");
  auto tool = (dir.path() / "tool").string();
  auto on = test::run_tdxctl({"--root", root.string(), "gpu", "cc", "on", "0000:db:00.0",
                              "--admin-tool", tool, "-o", "json"});
  INFO(on.err);
  REQUIRE(on.exit_status == 0);
  auto doc = nlohmann::json::parse(on.out);
  CHECK(doc["schema"] == "tdxctl.gpu.cc/1");
  CHECK(doc["mode"] == "on");
  CHECK(doc["changed"] == true);
  REQUIRE(doc["steps"].size() == 2);
  CHECK(doc["steps"][0]["id"] == "cc.ppcie.0000:db:00.0");

  auto status = test::run_tdxctl({"--root", root.string(), "gpu", "cc", "status", "db:00.0", "-o", "json"},
                                 {}, {"TDXCTL_GPU_ADMIN_TOOL=" + tool});
  REQUIRE(status.exit_status == 0);
  auto s = nlohmann::json::parse(status.out);
  CHECK(s["schema"] == "tdxctl.gpu.cc.status/1");
  CHECK(s["devices"][0]["cc_mode"] == "on");
  CHECK(s["devices"][0]["ppcie_mode"] == "off");

  auto bound = test::run_tdxctl({"--root", root.string(), "gpu", "cc", "on", "2a:00.0", "--admin-tool", tool});
  CHECK(bound.exit_status == 3);
  CHECK_THAT(bound.err, Catch::Contains("run 'tdxctl gpu bind 0000:2a:00.0'"));
}
