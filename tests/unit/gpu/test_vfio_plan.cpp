// vfio-pci bind/unbind on the HGX fixture with the kernel emulated (driver
// links move when the plan writes bind/unbind/drivers_probe), on the real
// H100-in-a-VM capture, and with a process holding a device.
#include "support/gpu_hgx.hpp"

#include "tdxctl/gpu/inventory.hpp"
#include "tdxctl/gpu/persist.hpp"
#include "tdxctl/gpu/vfio_plan.hpp"

#include <catch2/catch.hpp>

using namespace tdx;
namespace hgx = test::hgx;
namespace fs = std::filesystem;

namespace {
core::PlanReport apply(const core::Plan& plan, core::DryRun dry = core::DryRun::no) {
  core::NullProgress progress;
  return plan.apply(dry, progress);
}
// The message of the failure that applying `plan` ends in (the test fails
// when it applies).
std::string failure_of(const core::Plan& plan) {
  try {
    apply(plan);
  } catch (const core::Failure& f) {
    return f.error().message;
  }
  FAIL("expected a failure");
  return {};
}
std::string override_of(const fs::path& root, const std::string& a) {
  return hgx::trimmed(hgx::slurp(root / "sys/bus/pci/devices" / a / "driver_override"));
}
} // namespace

TEST_CASE("gpu list: 8 H100 + 4 NVSwitches with groups, bridge and audio members") {
  core::TempDir dir;
  hgx::build(dir.path());
  auto devices = gpu::list_devices(core::Root(dir.path()));
  REQUIRE(devices.size() == 12);
  CHECK(devices[0].pci.address == "0000:05:00.0");
  CHECK(devices[0].kind == gpu::Kind::nvswitch);
  CHECK(devices[0].model == "NVSwitch gen3");
  CHECK(devices[0].pci.driver == "nvidia-nvswitch");
  auto g18 = std::find_if(devices.begin(), devices.end(),
                          [](const auto& d) { return d.pci.address == "0000:18:00.0"; });
  REQUIRE(g18 != devices.end());
  CHECK(g18->model == "H100 SXM5 80GB");
  CHECK(g18->pci.iommu_group == 40);
  REQUIRE(g18->group.size() == 1);
  CHECK(g18->group[0].address == hgx::bridge);
  CHECK(g18->group[0].is_bridge());
  auto j = gpu::to_json(devices);
  CHECK(j[11]["address"] == "0000:db:00.0");
  CHECK(j[11]["driver"] == "vfio-pci");
  CHECK(j[11]["driver_override"] == "vfio-pci");
  CHECK(j[11]["numa_node"] == 1);
}

TEST_CASE("gpu bind --all: whole groups to vfio-pci, bridges skipped, then nothing to do") {
  core::TempDir dir;
  hgx::build(dir.path());
  core::Root root(dir.path());
  core::RecordingRunner runner;
  hgx::KernelEmulator kernel(dir.path());
  gpu::BindRequest req;
  req.all = true;
  auto plan = gpu::plan_bind(root, runner, req);
  REQUIRE(plan);
  auto report = apply(plan->plan);
  CHECK(report.changed);
  for (const auto& a : hgx::gpus) {
    CHECK(hgx::driver_of(dir.path(), a) == "vfio-pci");
    CHECK(override_of(dir.path(), a) == "vfio-pci");
  }
  for (const auto& a : hgx::nvswitches) CHECK(hgx::driver_of(dir.path(), a) == "vfio-pci");
  CHECK(hgx::driver_of(dir.path(), hgx::audio) == "vfio-pci");
  CHECK(hgx::driver_of(dir.path(), hgx::bridge) == "pcieport");
  CHECK(runner.commands().empty()); // vfio-pci was loaded: no modprobe
  CHECK(plan->groups[0]["group"] == 40);
  CHECK(plan->groups[0]["skipped_bridges"][0] == hgx::bridge);

  auto again = gpu::plan_bind(root, runner, req);
  REQUIRE(again);
  auto second = apply(again->plan);
  CHECK_FALSE(second.changed);
  for (const auto& s : second.steps) CHECK(s.status == "unchanged");
}

TEST_CASE("gpu bind loads vfio-pci through the runner when it is missing") {
  core::TempDir dir;
  hgx::build(dir.path(), {.vfio_loaded = false});
  core::Root root(dir.path());
  core::RecordingRunner runner([&](const core::Command&) {
    test::put(dir.path(), "sys/bus/pci/drivers/vfio-pci/bind", "");
    test::put(dir.path(), "sys/bus/pci/drivers/vfio-pci/unbind", "");
    core::Completed c;
    c.exit_status = 0;
    return c;
  });
  hgx::KernelEmulator kernel(dir.path());
  auto plan = gpu::plan_bind(root, runner, {{"5d:00.0"}});
  REQUIRE(plan);
  apply(plan->plan);
  REQUIRE(runner.commands().size() == 1);
  CHECK(runner.commands()[0].argv == std::vector<std::string>{"modprobe", "vfio-pci"});
  CHECK(hgx::driver_of(dir.path(), "0000:5d:00.0") == "vfio-pci");
  CHECK(hgx::driver_of(dir.path(), "0000:18:00.0") == "nvidia");
}

TEST_CASE("gpu bind refuses a device held by a process, naming it, unless --force") {
  core::TempDir dir;
  hgx::build(dir.path());
  hgx::add_process(dir.path(), 4242, "nvidia-persiste", "/dev/nvidia3");
  core::Root root(dir.path());
  core::RecordingRunner runner;
  // minor 3 is 0000:5d:00.0; 0000:18:00.0 (minor 0) is free
  CHECK(gpu::plan_bind(root, runner, {{"0000:18:00.0"}}));
  auto refused = gpu::plan_bind(root, runner, {{"0000:5d:00.0"}});
  REQUIRE_FALSE(refused);
  CHECK(refused.error().category == core::Category::not_ready);
  CHECK(refused.error().code == "gpu.in_use");
  CHECK_THAT(refused.error().message,
             Catch::Contains("0000:5d:00.0: nvidia-persiste (pid 4242) holds /dev/nvidia3"));
  // nvidiactl is driver-wide: every GPU on nvidia is in use
  hgx::add_process(dir.path(), 77, "python3", "/dev/nvidiactl");
  CHECK_FALSE(gpu::plan_bind(root, runner, {{"0000:18:00.0"}}));
  // the device's own BAR mapping counts too
  hgx::add_process(dir.path(), 91, "nvidia-fabricma", "/dev/nvidia-nvswitch2");
  auto sw = gpu::plan_bind(root, runner, {{"0000:07:00.0"}});
  REQUIRE_FALSE(sw);
  CHECK_THAT(sw.error().message, Catch::Contains("nvidia-fabricma (pid 91)"));

  hgx::KernelEmulator kernel(dir.path());
  gpu::BindRequest forced{{"0000:5d:00.0"}, false, core::Force::yes};
  auto plan = gpu::plan_bind(root, runner, forced);
  REQUIRE(plan);
  apply(plan->plan);
  CHECK(hgx::driver_of(dir.path(), "0000:5d:00.0") == "vfio-pci");
}

TEST_CASE("gpu bind refuses an IOMMU group shared with a non-NVIDIA device") {
  core::TempDir dir;
  hgx::build(dir.path());
  hgx::add_device(dir.path(), {"0000:2a:00.1", "0x15b3", "0x1021", "0x020000", "", 41, 0});
  core::RecordingRunner runner;
  auto r = gpu::plan_bind(core::Root(dir.path()), runner, {{"0000:2a:00.0"}});
  REQUIRE_FALSE(r);
  CHECK(r.error().code == "gpu.group_shared");
  CHECK_THAT(r.error().message, Catch::Contains("IOMMU group 41 also holds 0000:2a:00.1"));
}

TEST_CASE("gpu bind on the real H100-in-a-VM capture refuses: no IOMMU group") {
  core::TempDir dir;
  auto root = test::extract_capture(dir.path(), "h100-vm-passthrough.tgz");
  core::RecordingRunner runner;
  gpu::BindRequest req;
  req.all = true;
  auto r = gpu::plan_bind(core::Root(root), runner, req);
  REQUIRE_FALSE(r);
  CHECK(r.error().category == core::Category::not_ready);
  CHECK(r.error().code == "gpu.no_iommu_group");
  CHECK_THAT(r.error().message, Catch::Contains("0000:00:06.0 (H100 SXM5 80GB)"));
  CHECK_THAT(r.error().message, Catch::Contains("no IOMMU groups exist on this host"));
  CHECK(hgx::trimmed(hgx::slurp(root / "sys/bus/pci/devices/0000:00:06.0/driver_override")) == "(null)");
}

TEST_CASE("gpu bind --dry-run changes nothing, bad addresses are named") {
  core::TempDir dir;
  hgx::build(dir.path());
  core::Root root(dir.path());
  core::RecordingRunner runner;
  auto plan = gpu::plan_bind(root, runner, {{"18:00.0"}});
  REQUIRE(plan);
  auto report = apply(plan->plan, core::DryRun::yes);
  CHECK(report.dry_run);
  CHECK(hgx::driver_of(dir.path(), "0000:18:00.0") == "nvidia");
  CHECK(override_of(dir.path(), "0000:18:00.0") == "(null)");
  auto j = plan->plan.to_json();
  CHECK(j[1]["detail"]["path"] == "/sys/bus/pci/devices/0000:18:00.0/driver_override");
  CHECK(j[1]["detail"]["value"] == "vfio-pci");

  auto bad = gpu::plan_bind(root, runner, {{"18:00"}});
  REQUIRE_FALSE(bad);
  CHECK(bad.error().category == core::Category::invalid_input);
  CHECK_THAT(bad.error().message, Catch::Contains("'18:00' is not a PCI address"));
  auto nic = gpu::plan_bind(root, runner, {{"0000:17:00.0"}});
  REQUIRE_FALSE(nic);
  CHECK_THAT(nic.error().message, Catch::Contains("0000:17:00.0 is not an NVIDIA GPU or NVSwitch"));
}

TEST_CASE("gpu bind rolls back, leaving the device on its driver, when a step fails") {
  core::TempDir dir;
  hgx::build(dir.path());
  core::Root root(dir.path());
  core::RecordingRunner runner;
  auto plan = gpu::plan_bind(root, runner, {{"0000:3a:00.0"}});
  REQUIRE(plan);
  SECTION("the kernel does not unbind: the override is undone") {
    // no KernelEmulator: the unbind write is never acted on
    auto message = failure_of(plan->plan);
    CHECK_THAT(message, Catch::Contains("0000:3a:00.0 is still bound to nvidia"));
    CHECK_THAT(message, Catch::Contains("rolled back 1 earlier step"));
  }
  SECTION("vfio-pci does not take it: override and unbind are undone") {
    hgx::KernelEmulator kernel(dir.path());
    kernel.refuse("0000:3a:00.0", "vfio-pci");
    auto message = failure_of(plan->plan);
    CHECK_THAT(message, Catch::Contains("drivers_probe did not bind 0000:3a:00.0 to vfio-pci"));
    // The bind back to nvidia is made while the override still names
    // vfio-pci, which a kernel refuses unless the undo names nvidia for it.
    CHECK_THAT(message, Catch::Contains("rolled back 2 earlier step"));
    CHECK(hgx::driver_of(dir.path(), "0000:3a:00.0") == "nvidia");
  }
  auto o = override_of(dir.path(), "0000:3a:00.0");
  CHECK((o.empty() || o == "(null)"));
}

TEST_CASE("gpu unbind --all gives devices back to their drivers and drops persisted rules") {
  core::TempDir dir;
  hgx::build(dir.path());
  core::Root root(dir.path());
  core::RecordingRunner runner;
  hgx::KernelEmulator kernel(dir.path());
  gpu::BindRequest req{{"0000:ba:00.0", "0000:05:00.0"}, false, core::Force::no, gpu::Persist::yes};
  auto bind = gpu::plan_bind(root, runner, req);
  REQUIRE(bind);
  apply(bind->plan);
  auto rules = hgx::slurp(dir.path() / "etc/udev/rules.d/70-tdxctl-vfio-pci.rules");
  CHECK_THAT(rules, Catch::Contains(R"(KERNEL=="0000:ba:00.0", ATTR{driver_override}="vfio-pci")"));
  CHECK_THAT(rules, Catch::Contains(R"(KERNEL=="0000:ba:00.1")"));
  CHECK_THAT(rules, Catch::Contains(R"(KERNEL=="0000:05:00.0")"));
  CHECK_THAT(hgx::slurp(dir.path() / "etc/modprobe.d/tdxctl-vfio-pci.conf"),
             Catch::Contains("softdep nvidia pre: vfio-pci"));
  CHECK_THAT(hgx::slurp(dir.path() / "etc/udev/rules.d/60-tdxctl-vfio-kvm.rules"),
             Catch::Contains(R"(SUBSYSTEM=="vfio", GROUP="kvm")"));
  CHECK(gpu::persisted_addresses(root) ==
        std::vector<std::string>{"0000:05:00.0", "0000:ba:00.0", "0000:ba:00.1"});

  gpu::UnbindRequest un;
  un.all = true;
  auto plan = gpu::plan_unbind(root, un);
  REQUIRE(plan);
  CHECK(apply(plan->plan).changed);
  for (const auto& a : hgx::gpus) {
    CHECK(hgx::driver_of(dir.path(), a) == "nvidia");
    auto o = override_of(dir.path(), a);
    CHECK((o.empty() || o == "(null)"));
  }
  CHECK(hgx::driver_of(dir.path(), "0000:05:00.0") == "nvidia-nvswitch");
  CHECK(hgx::driver_of(dir.path(), hgx::audio) == "snd_hda_intel");
  CHECK_FALSE(fs::exists(dir.path() / "etc/udev/rules.d/70-tdxctl-vfio-pci.rules"));

  auto again = gpu::plan_unbind(root, un);
  REQUIRE(again);
  CHECK(again->plan.empty());
}

TEST_CASE("gpu unbind refuses while a VM holds the VFIO group") {
  core::TempDir dir;
  hgx::build(dir.path());
  hgx::add_process(dir.path(), 5150, "qemu-system-x86", "/dev/vfio/47");
  auto r = gpu::plan_unbind(core::Root(dir.path()), {{"0000:db:00.0"}});
  REQUIRE_FALSE(r);
  CHECK(r.error().code == "gpu.in_use");
  CHECK_THAT(r.error().message, Catch::Contains("qemu-system-x86 (pid 5150) holds /dev/vfio/47"));
}
