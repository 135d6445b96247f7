// gpu reset plans on the HGX fixture with the kernel emulated: the method
// named and narrowed for the write, the re-probe, --rescan putting a device
// back on its driver, and each refusal with its code.
#include "support/gpu_hgx.hpp"

#include "tdxctl/gpu/reset.hpp"

#include <catch2/catch.hpp>

using namespace tdx;
namespace hgx = test::hgx;
namespace fs = std::filesystem;

namespace {

core::PlanReport apply(const core::Plan& plan) {
  core::NullProgress progress;
  return plan.apply(core::DryRun::no, progress);
}

std::string attr(const fs::path& root, const std::string& address, const std::string& name) {
  return hgx::slurp(root / "sys/bus/pci/devices" / address / name);
}

} // namespace

TEST_CASE("reset: the kernel's first method, named, narrowed for the write and restored") {
  core::TempDir dir;
  hgx::build(dir.path());
  core::Root root(dir.path());
  auto plan = gpu::plan_reset(root, {{"db:00.0"}, false, "", false});
  REQUIRE(plan);
  REQUIRE(plan->plan.steps().size() == 2);
  const auto& step = plan->plan.steps()[0];
  CHECK(step.id == "sysfs.reset.0000:db:00.0");
  CHECK_THAT(step.summary, Catch::StartsWith("reset 0000:db:00.0 with flr: write 1 to "
                                             "/sys/bus/pci/devices/0000:db:00.0/reset"));
  std::string dev = "/sys/bus/pci/devices/0000:db:00.0/";
  CHECK(step.detail["writes"] ==
        core::Json::array({{{"path", dev + "reset_method"}, {"value", "flr"}},
                           {{"path", dev + "reset"}, {"value", "1"}},
                           {{"path", dev + "reset_method"}, {"value", "flr bus"}}}));
  CHECK(plan->devices[0]["method"] == "flr");
  CHECK(plan->devices[0]["reset_methods"] == core::Json::array({"flr", "bus"}));
  CHECK(plan->plan.steps()[1].id == "gpu.reprobe.0000:db:00.0");

  auto report = apply(plan->plan);
  CHECK(report.changed);
  CHECK(attr(dir.path(), "0000:db:00.0", "reset") == "1\n");
  CHECK(attr(dir.path(), "0000:db:00.0", "reset_method") == "flr bus\n");
  CHECK(hgx::driver_of(dir.path(), "0000:db:00.0") == "vfio-pci");
}

TEST_CASE("reset --method picks one the device offers, and names the others when it does not") {
  core::TempDir dir;
  hgx::build(dir.path());
  core::Root root(dir.path());
  auto bus = gpu::plan_reset(root, {{"0000:db:00.0"}, false, "bus", false});
  REQUIRE(bus);
  CHECK_THAT(bus->plan.steps()[0].summary, Catch::StartsWith("reset 0000:db:00.0 with bus"));

  auto pm = gpu::plan_reset(root, {{"0000:db:00.0"}, false, "pm", false});
  REQUIRE_FALSE(pm);
  CHECK(pm.error().code == "gpu.reset_method");
  CHECK(pm.error().category == core::Category::invalid_input);
  CHECK_THAT(pm.error().message, Catch::Contains("--method pm: 0000:db:00.0 offers flr, bus"));

  auto both = gpu::plan_reset(root, {{"0000:db:00.0"}, false, "bus", true});
  REQUIRE_FALSE(both);
  CHECK(both.error().category == core::Category::usage);
}

TEST_CASE("reset refuses a held device, one on the NVIDIA driver, and one without a reset") {
  core::TempDir dir;
  hgx::build(dir.path());
  core::Root root(dir.path());
  hgx::add_process(dir.path(), 4242, "qemu-system-x86", "/dev/vfio/47");
  auto busy = gpu::plan_reset(root, {{"0000:db:00.0"}, false, "", false});
  REQUIRE_FALSE(busy);
  CHECK(busy.error().code == "gpu.in_use");
  CHECK(busy.error().category == core::Category::not_ready);
  CHECK_THAT(busy.error().message,
             Catch::Contains("cannot reset: device in use (0000:db:00.0: qemu-system-x86 (pid 4242) "
                             "holds /dev/vfio/47)"));
  auto busy_rescan = gpu::plan_reset(root, {{"0000:db:00.0"}, false, "", true});
  REQUIRE_FALSE(busy_rescan);
  CHECK(busy_rescan.error().code == "gpu.in_use");

  auto nvidia = gpu::plan_reset(root, {{"0000:2a:00.0"}, false, "", false});
  REQUIRE_FALSE(nvidia);
  CHECK(nvidia.error().code == "gpu.reset_bound_to_nvidia");
  CHECK_THAT(nvidia.error().hint, Catch::Contains("--rescan"));

  fs::remove(dir.path() / "sys/devices/pci0000:00/0000:05:00.0/reset");
  fs::remove(dir.path() / "sys/devices/pci0000:00/0000:05:00.0/reset_method");
  hgx::detach(dir.path(), "0000:05:00.0");
  auto none = gpu::plan_reset(root, {{"0000:05:00.0"}, false, "", false});
  REQUIRE_FALSE(none);
  CHECK(none.error().code == "gpu.no_reset");
  CHECK(none.error().category == core::Category::not_ready);
}

TEST_CASE("reset: a device that does not answer afterwards fails the re-probe") {
  core::TempDir dir;
  hgx::build(dir.path());
  auto plan = gpu::plan_reset(core::Root(dir.path()), {{"0000:db:00.0"}, false, "", false});
  REQUIRE(plan);
  test::put(dir.path(), "sys/devices/pci0000:00/0000:db:00.0/config", std::string(64, '\xff'));
  try {
    apply(plan->plan);
    FAIL("a device reading 0xffff passed the re-probe");
  } catch (const core::Failure& f) {
    CHECK(f.error().code == "gpu.reset_no_answer");
    CHECK_THAT(f.error().message, Catch::Contains("0000:db:00.0 reads 0xffff:0xffff on config space "
                                                  "after the reset (expected 0x10de:0x2330): it "
                                                  "did not come back"));
    CHECK_THAT(f.error().hint, Catch::Contains("tdxctl gpu reset --rescan 0000:db:00.0"));
  }
}

TEST_CASE("reset --rescan: unbind, remove, rescan, back on the driver it had") {
  core::TempDir dir;
  hgx::build(dir.path());
  core::Root root(dir.path());
  // 0000:2a:00.0 on nvidia; 0000:db:00.0 on vfio-pci through driver_override.
  auto plan = gpu::plan_reset(root, {{"2a:00.0", "db:00.0"}, false, "", true});
  REQUIRE(plan);
  std::vector<std::string> ids;
  for (const auto& s : plan->plan.steps()) ids.push_back(s.id);
  CHECK(ids == std::vector<std::string>{
                   "sysfs.unbind.0000:2a:00.0", "sysfs.remove.0000:2a:00.0",
                   "sysfs.rescan.0000:2a:00.0", "sysfs.rebind.0000:2a:00.0",
                   "gpu.reprobe.0000:2a:00.0", "sysfs.unbind.0000:db:00.0",
                   "sysfs.remove.0000:db:00.0", "sysfs.rescan.0000:db:00.0",
                   "sysfs.rebind.0000:db:00.0", "gpu.reprobe.0000:db:00.0"});
  CHECK(plan->devices[1]["rescan"] == true);
  CHECK(plan->devices[1]["method"].is_null());

  hgx::KernelEmulator kernel(dir.path());
  CHECK(apply(plan->plan).changed);
  CHECK(kernel.rescans() == 2);
  CHECK(hgx::driver_of(dir.path(), "0000:2a:00.0") == "nvidia");
  // The rescan gave it a clear override and the nvidia driver; tdxctl put it back.
  CHECK(hgx::driver_of(dir.path(), "0000:db:00.0") == "vfio-pci");
  CHECK(attr(dir.path(), "0000:db:00.0", "driver_override") == "vfio-pci\n");
  CHECK(attr(dir.path(), "0000:db:00.0", "reset").empty()); // removed, not reset
}
