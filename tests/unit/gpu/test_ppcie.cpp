// PPCIe switching through the nvidia_gpu_tools.py test double (a real
// python3 process run by RealRunner): the documented sequence and flags, the
// mode parser on the tool's real output shape, idempotence and refusals.
#include "support/gpu_hgx.hpp"
#include "support/gpu_tool.hpp"

#include "tdxctl/gpu/admin_tool.hpp"
#include "tdxctl/gpu/ppcie.hpp"
#include "tdxctl/gpu/vfio_plan.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace tdx;
namespace hgx = test::hgx;
namespace fs = std::filesystem;

TEST_CASE("parse_modes reads CC and PPCIe modes from the tool's log lines") {
  std::string out =
      "NVIDIA GPU Tools version v2025.04.11o\n"
      "2025-04-11,10:00:01.123 INFO     Selected GPU 0000:18:00.0 H100-SXM5-80GB 0x2330 BAR0 0x200600000000\n"
      "2025-04-11,10:00:01.200 WARNING  GPU 0000:18:00.0 H100-SXM5-80GB 0x2330 BAR0 0x200600000000 has CC mode on, some functionality may not work\n"
      "2025-04-11,10:00:01.300 INFO     GPU 0000:18:00.0 H100-SXM5-80GB 0x2330 BAR0 0x200600000000 CC mode is on\n"
      "2025-04-11,10:00:01.400 INFO     GPU 0000:18:00.0 H100-SXM5-80GB 0x2330 BAR0 0x200600000000 PPCIe mode is off\n"
      "2025-04-11,10:00:02.000 INFO     NvSwitch 0000:05:00.0 NvSwitch_gen3 0x22a3 BAR0 0x100a00000000 PPCIe mode is on\n";
  auto modes = gpu::parse_modes(out);
  REQUIRE(modes.size() == 2);
  CHECK(modes["0000:18:00.0"].cc == "on");
  CHECK(modes["0000:18:00.0"].ppcie == "off");
  CHECK(modes["0000:05:00.0"].cc.empty());
  CHECK(modes["0000:05:00.0"].ppcie == "on");
  CHECK(gpu::parse_modes("Matching for 99:00.0 found nothing\n").empty());
}

TEST_CASE("ppcie on: NVSwitches first, then per GPU CC off and PPCIe on, each reset and verified") {
  core::TempDir dir;
  hgx::build(dir.path() / "root");
  hgx::bind_all(dir.path() / "root");
  auto tool = hgx::install_fake_tool(dir.path() / "tool", "on", "off");
  core::Root root(dir.path() / "root");
  core::RealRunner runner;
  gpu::PpcieRequest req;
  req.all = true;
  req.admin_tool = tool.string();
  auto plan = gpu::plan_ppcie(root, runner, req, gpu::PpcieMode::on, core::DryRun::no);
  REQUIRE(plan);
  CHECK(plan->plan.steps().size() == 4 + 8 * 2);
  core::NullProgress progress;
  auto report = plan->plan.apply(core::DryRun::no, progress);
  CHECK(report.changed);

  // The switches, in order, without the queries in between.
  auto switches = hgx::tool_switches(dir.path() / "tool");
  REQUIRE(switches.size() == 20);
  for (size_t i = 0; i < 4; ++i)
    CHECK(switches[i] == nlohmann::json{"--gpu-bdf=" + hgx::nvswitches[i], "--set-ppcie-mode=on",
                                        "--reset-after-ppcie-mode-switch"});
  for (size_t i = 0; i < 8; ++i) {
    CHECK(switches[4 + 2 * i] == nlohmann::json{"--gpu-bdf=" + hgx::gpus[i], "--set-cc-mode=off",
                                                "--reset-after-cc-mode-switch"});
    CHECK(switches[5 + 2 * i] == nlohmann::json{"--gpu-bdf=" + hgx::gpus[i], "--set-ppcie-mode=on",
                                                "--reset-after-ppcie-mode-switch"});
  }
  // Every switch is followed by a query of the same device.
  auto all = hgx::tool_calls(dir.path() / "tool");
  for (size_t i = 0; i + 1 < all.size(); ++i)
    if (all[i].dump().find("--set-") != std::string::npos) {
      CHECK(all[i + 1][0] == all[i][0]);
      CHECK(all[i + 1].dump().find("--query-ppcie-mode") != std::string::npos);
    }

  auto status = gpu::mode_status(root, runner, req);
  REQUIRE(status);
  for (const auto& d : *status) {
    REQUIRE(d.modes);
    CHECK(d.modes->ppcie == "on");
    if (d.kind == gpu::Kind::gpu) CHECK(d.modes->cc == "off");
  }

  auto again = gpu::plan_ppcie(root, runner, req, gpu::PpcieMode::on, core::DryRun::no);
  REQUIRE(again);
  CHECK_FALSE(again->plan.apply(core::DryRun::no, progress).changed);
}

TEST_CASE("ppcie off: GPUs first, then NVSwitches") {
  core::TempDir dir;
  hgx::build(dir.path() / "root");
  hgx::bind_all(dir.path() / "root");
  auto tool = hgx::install_fake_tool(dir.path() / "tool", "off", "on");
  core::RealRunner runner;
  gpu::PpcieRequest req{{"0000:18:00.0", "0000:08:00.0"}, false, tool.parent_path().string()};
  auto plan = gpu::plan_ppcie(core::Root(dir.path() / "root"), runner, req, gpu::PpcieMode::off,
                              core::DryRun::no);
  REQUIRE(plan);
  REQUIRE(plan->plan.steps().size() == 2);
  CHECK(plan->plan.steps()[0].id == "ppcie.ppcie.0000:18:00.0");
  CHECK(plan->plan.steps()[1].id == "ppcie.ppcie.0000:08:00.0");
  core::NullProgress progress;
  CHECK(plan->plan.apply(core::DryRun::no, progress).changed);
}

TEST_CASE("ppcie refuses devices on the nvidia driver, and names where to get a missing tool") {
  core::TempDir dir;
  hgx::build(dir.path() / "root");
  auto tool = hgx::install_fake_tool(dir.path() / "tool", "off", "off");
  core::Root root(dir.path() / "root");
  core::RealRunner runner;
  gpu::PpcieRequest req{{"0000:2a:00.0"}, false, tool.string()};
  auto r = gpu::plan_ppcie(root, runner, req, gpu::PpcieMode::on, core::DryRun::no);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == "gpu.bound_to_nvidia");
  CHECK(r.error().category == core::Category::not_ready);
  CHECK_THAT(r.error().hint, Catch::Contains("tdxctl gpu bind 0000:2a:00.0"));
  CHECK(hgx::tool_calls(dir.path() / "tool").empty());

  req.admin_tool = (dir.path() / "nowhere").string();
  auto missing = gpu::plan_ppcie(root, runner, req, gpu::PpcieMode::on, core::DryRun::no);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == "gpu.admin_tool_missing");
  CHECK_THAT(missing.error().hint, Catch::Contains("https://github.com/NVIDIA/gpu-admin-tools"));

  // status still answers for a device on nvidia, without running the tool on it
  req.admin_tool = tool.string();
  auto status = gpu::mode_status(root, runner, req);
  REQUIRE(status);
  CHECK_THAT((*status)[0].modes->note, Catch::Contains("bound to nvidia"));
}

TEST_CASE("ppcie on --dry-run runs nothing, not even a query") {
  core::TempDir dir;
  hgx::build(dir.path() / "root");
  hgx::bind_all(dir.path() / "root");
  auto tool = hgx::install_fake_tool(dir.path() / "tool", "on", "off");
  core::RecordingRunner runner;
  gpu::PpcieRequest req{{}, true, tool.string()};
  auto plan = gpu::plan_ppcie(core::Root(dir.path() / "root"), runner, req, gpu::PpcieMode::on,
                              core::DryRun::yes);
  REQUIRE(plan);
  core::NullProgress progress;
  auto report = plan->plan.apply(core::DryRun::yes, progress);
  CHECK(runner.commands().empty());
  CHECK(report.steps.size() == 20);
  for (const auto& s : report.steps) CHECK(s.status == "planned");
  CHECK_THAT(plan->plan.steps()[0].summary,
             Catch::Contains("--set-ppcie-mode=on --reset-after-ppcie-mode-switch"));
}
