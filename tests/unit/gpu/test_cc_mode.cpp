// CC mode switching through the nvidia_gpu_tools.py test double (a real
// python3 process run by RealRunner): per GPU PPCIe off then CC, the
// NVSwitches after their GPUs, devtools, verification, idempotence,
// dry-run and the in-use refusal.
#include "support/gpu_hgx.hpp"
#include "support/gpu_tool.hpp"

#include "tdxctl/gpu/cc_mode.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace tdx;
namespace hgx = test::hgx;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// The HGX fixture with every device on vfio-pci and the tool double
// reporting `cc` / `ppcie` for all of them.
struct Board {
  core::TempDir dir;
  fs::path tool_dir = dir.path() / "tool";
  core::Root root{dir.path() / "root"};
  core::RealRunner runner;
  core::NullProgress progress;

  Board(const std::string& cc, const std::string& ppcie) {
    hgx::build(root.dir());
    hgx::bind_all(root.dir());
    hgx::install_fake_tool(tool_dir, cc, ppcie);
  }
  gpu::ModeRequest request(const std::vector<std::string>& devices) const {
    return {devices, devices.empty(), tool_dir.string()};
  }
  core::Result<gpu::ModePlan> plan(const gpu::ModeRequest& req, gpu::CcMode mode) {
    return gpu::plan_cc(root, runner, req, mode, core::DryRun::no);
  }
};

} // namespace

TEST_CASE("cc on from PPCIe: per GPU PPCIe off then CC on, then the NVSwitches leave PPCIe") {
  Board board("off", "on");
  auto req = board.request({});
  auto plan = board.plan(req, gpu::CcMode::on);
  REQUIRE(plan);
  REQUIRE(plan->plan.steps().size() == 8 * 2 + 4);
  CHECK(plan->plan.steps()[0].id == "cc.ppcie." + hgx::gpus[0]);
  CHECK(plan->plan.steps()[1].id == "cc.cc." + hgx::gpus[0]);
  CHECK(plan->plan.steps()[16].id == "cc.ppcie." + hgx::nvswitches[0]);
  CHECK(plan->plan.apply(core::DryRun::no, board.progress).changed);

  auto switches = hgx::tool_switches(board.tool_dir);
  REQUIRE(switches.size() == 20);
  for (size_t i = 0; i < 8; ++i) {
    CHECK(switches[2 * i] == json{"--gpu-bdf=" + hgx::gpus[i], "--set-ppcie-mode=off",
                                  "--reset-after-ppcie-mode-switch"});
    CHECK(switches[2 * i + 1] == json{"--gpu-bdf=" + hgx::gpus[i], "--set-cc-mode=on",
                                      "--reset-after-cc-mode-switch"});
  }
  for (size_t i = 0; i < 4; ++i)
    CHECK(switches[16 + i] == json{"--gpu-bdf=" + hgx::nvswitches[i], "--set-ppcie-mode=off",
                                   "--reset-after-ppcie-mode-switch"});
  auto state = hgx::tool_state(board.tool_dir);
  for (const auto& g : hgx::gpus) {
    CHECK(state[g]["cc"] == "on");
    CHECK(state[g]["ppcie"] == "off");
  }
  for (const auto& s : hgx::nvswitches) CHECK(state[s]["ppcie"] == "off");

  auto again = board.plan(req, gpu::CcMode::on);
  REQUIRE(again);
  CHECK_FALSE(again->plan.apply(core::DryRun::no, board.progress).changed);
}

TEST_CASE("cc devtools and cc off switch only what differs") {
  Board board("on", "off");
  auto req = board.request({"18:00.0"});
  auto dev = board.plan(req, gpu::CcMode::devtools);
  REQUIRE(dev);
  auto report = dev->plan.apply(core::DryRun::no, board.progress);
  REQUIRE(report.steps.size() == 2);
  CHECK(report.steps[0].status == "unchanged"); // PPCIe was off already
  CHECK(report.steps[1].status == "changed");
  CHECK(hgx::tool_switches(board.tool_dir) ==
        std::vector<json>{{"--gpu-bdf=0000:18:00.0", "--set-cc-mode=devtools",
                           "--reset-after-cc-mode-switch"}});
  CHECK(hgx::tool_state(board.tool_dir)["0000:18:00.0"]["cc"] == "devtools");

  auto off = board.plan(req, gpu::CcMode::off);
  REQUIRE(off);
  CHECK(off->plan.apply(core::DryRun::no, board.progress).changed);
  CHECK(hgx::tool_state(board.tool_dir)["0000:18:00.0"]["cc"] == "off");
  CHECK(hgx::tool_state(board.tool_dir)["0000:2a:00.0"]["cc"] == "on"); // not selected
}

TEST_CASE("cc on fails naming the mode a device kept after the switch") {
  Board board("off", "off");
  auto state = hgx::tool_state(board.tool_dir);
  state["0000:2a:00.0"]["stuck"] = true;
  std::ofstream(board.tool_dir / "state.json") << state.dump();
  auto plan = board.plan(board.request({"0000:2a:00.0"}), gpu::CcMode::on);
  REQUIRE(plan);
  try {
    plan->plan.apply(core::DryRun::no, board.progress);
    FAIL("a device that kept CC off passed verification");
  } catch (const core::Failure& f) {
    CHECK(f.error().code == "gpu.mode_not_switched");
    CHECK_THAT(f.error().message,
               Catch::Contains("0000:2a:00.0: asked for CC mode on, the device reports off"));
    CHECK_THAT(f.error().hint, Catch::Contains("tdxctl gpu cc status"));
  }
}

TEST_CASE("cc on refuses a device a VM holds, and --dry-run runs nothing") {
  Board board("off", "off");
  // 0000:db:00.0 is in IOMMU group 47; a QEMU holding the group refuses.
  hgx::add_process(board.root.dir(), 4242, "qemu-system-x86", "/dev/vfio/47");
  auto req = board.request({"0000:db:00.0"});
  auto busy = board.plan(req, gpu::CcMode::on);
  REQUIRE_FALSE(busy);
  CHECK(busy.error().code == "gpu.in_use");
  CHECK(busy.error().category == core::Category::not_ready);
  CHECK_THAT(busy.error().message, Catch::Contains("qemu-system-x86 (pid 4242) holds /dev/vfio/47"));
  CHECK(hgx::tool_calls(board.tool_dir).empty());

  req.force = core::Force::yes;
  core::RecordingRunner recorder;
  auto dry = gpu::plan_cc(board.root, recorder, req, gpu::CcMode::on, core::DryRun::yes);
  REQUIRE(dry);
  auto report = dry->plan.apply(core::DryRun::yes, board.progress);
  CHECK(recorder.commands().empty());
  REQUIRE(report.steps.size() == 2);
  for (const auto& s : report.steps) CHECK(s.status == "planned");
  CHECK_THAT(dry->plan.steps()[1].summary,
             Catch::Contains("--set-cc-mode=on --reset-after-cc-mode-switch"));
}
