// tdxctl gpu as a binary: JSON schemas, exit codes, dry-run, the emulated
// kernel moving driver links while the real binary binds, the real
// H100-in-a-VM capture refusing, and ppcie through the admin-tool double.
#include "support/gpu_hgx.hpp"

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
  CHECK(nlohmann::json::parse(json.out)["error"]["code"] == "gpu.in_use");

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
