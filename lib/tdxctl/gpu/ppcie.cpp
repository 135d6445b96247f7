// PPCIe switching. Sequence (NVIDIA's PPCIe deployment guide, and what
// canonical's setup-gpus.sh runs): per NVSwitch `--set-ppcie-mode=on
// --reset-after-ppcie-mode-switch`, per GPU `--set-cc-mode=off
// --reset-after-cc-mode-switch` then the PPCIe switch. Unlike setup-gpus.sh
// the choice never depends on how many GPUs the host has, and every switch
// is verified with a fresh query (the old script never checked).
#include "tdxctl/gpu/ppcie.hpp"

#include "tdxctl/gpu/in_use.hpp"

namespace tdx::gpu {

using core::Category;

std::vector<std::string> cc_mode_args(const std::string& address, const std::string& mode) {
  return {"--gpu-bdf=" + address, "--set-cc-mode=" + mode, "--reset-after-cc-mode-switch"};
}

std::vector<std::string> ppcie_mode_args(const std::string& address, const std::string& mode) {
  return {"--gpu-bdf=" + address, "--set-ppcie-mode=" + mode, "--reset-after-ppcie-mode-switch"};
}

namespace {

core::Step switch_step(core::ProcessRunner& runner, const AdminTool& tool,
                       const GpuDevice& device, bool cc, const std::string& mode) {
  core::Command cmd{tool.argv(cc ? cc_mode_args(device.pci.address, mode)
                                 : ppcie_mode_args(device.pci.address, mode))};
  cmd.timeout = std::chrono::minutes(5); // includes the device reset
  std::string what = std::string(cc ? "CC" : "PPCIe") + " mode " + mode;
  std::string current = device.modes ? (cc ? device.modes->cc : device.modes->ppcie) : "";
  core::Step step;
  step.id = std::string(cc ? "ppcie.cc." : "ppcie.ppcie.") + device.pci.address;
  step.kind = "command";
  step.summary = device.pci.address + " (" + device.model + "): " + what + ": " + core::describe(cmd);
  step.detail = {{"argv", cmd.argv}, {"current", current.empty() ? core::Json() : core::Json(current)}};
  step.is_done = [current, mode] { return current == mode; };
  step.apply = [&runner, tool, device, cmd, cc, mode, what] {
    core::run_checked(runner, cmd, "nvidia_gpu_tools.py (" + what + " on " + device.pci.address + ")");
    auto now = query_modes(runner, tool, device);
    auto got = cc ? now.cc : now.ppcie;
    if (got != mode)
      throw core::Failure(Category::failed, "gpu.mode_not_switched",
                          device.pci.address + ": asked for " + what + ", the device reports " +
                              (got.empty() ? "no mode" : got) +
                              (now.note.empty() ? "" : " (" + now.note + ")"),
                          "run 'tdxctl gpu ppcie status' and check the tool's output with -v");
  };
  return step;
}

core::Result<void> check_switchable(const core::Root& root, const std::vector<GpuDevice>& devices,
                                    Force force) {
  for (const auto& d : devices)
    if (d.pci.driver == "nvidia" || d.pci.driver == "nvidia-nvswitch")
      return core::fail(Category::not_ready, "gpu.bound_to_nvidia",
                        d.pci.address + " (" + d.model + ") is bound to " + d.pci.driver +
                            "; the admin tool cannot switch a device its driver holds",
                        "run 'tdxctl gpu bind " + d.pci.address + "' (or --all) first");
  if (force == Force::yes) return {};
  auto files = scan_device_files(root);
  for (const auto& d : devices)
    for (const auto& f : device_users(root, d.pci, files))
      return core::fail(Category::not_ready, "gpu.in_use",
                        "cannot switch modes: " + d.pci.address + " is in use (" + describe(f) + ")",
                        "shut down the TD using it, or pass --force");
  return {};
}

} // namespace

core::Result<PpciePlan> plan_ppcie(const core::Root& root, core::ProcessRunner& runner,
                                   const PpcieRequest& request, PpcieMode mode,
                                   core::DryRun dry_run) {
  auto tool = find_admin_tool(request.admin_tool);
  if (!tool) return std::unexpected(tool.error());
  auto selected = select_devices(root, request.devices, request.all);
  if (!selected) return std::unexpected(selected.error());
  auto ok = check_switchable(root, *selected, request.force);
  if (!ok) return std::unexpected(ok.error());

  PpciePlan out;
  out.devices = std::move(*selected);
  for (auto& d : out.devices)
    d.modes = dry_run == core::DryRun::yes ? Modes{{}, {}, "not queried under --dry-run"}
                                           : query_modes(runner, *tool, d);
  std::string want = mode == PpcieMode::on ? "on" : "off";
  auto add_kind = [&](Kind kind) {
    for (const auto& d : out.devices) {
      if (d.kind != kind) continue;
      if (kind == Kind::gpu && mode == PpcieMode::on)
        out.plan.add(switch_step(runner, *tool, d, true, "off"));
      out.plan.add(switch_step(runner, *tool, d, false, want));
    }
  };
  if (mode == PpcieMode::on) {
    add_kind(Kind::nvswitch);
    add_kind(Kind::gpu);
  } else {
    add_kind(Kind::gpu);
    add_kind(Kind::nvswitch);
  }
  return out;
}

core::Result<std::vector<GpuDevice>> ppcie_status(const core::Root& root,
                                                  core::ProcessRunner& runner,
                                                  const PpcieRequest& request) {
  auto tool = find_admin_tool(request.admin_tool);
  if (!tool) return std::unexpected(tool.error());
  auto selected = select_devices(root, request.devices, request.all || request.devices.empty());
  if (!selected) return std::unexpected(selected.error());
  for (auto& d : *selected) d.modes = query_modes(runner, *tool, d);
  return selected;
}

} // namespace tdx::gpu

namespace tdx::gpu {

core::Result<std::vector<GpuDevice>> list_with_modes(const core::Root& root,
                                                     core::ProcessRunner& runner,
                                                     const std::string& admin_tool) {
  auto devices = list_devices(root);
  auto tool = find_admin_tool(admin_tool);
  if (!tool) {
    if (!admin_tool.empty()) return std::unexpected(tool.error());
    return devices;
  }
  for (auto& d : devices) d.modes = query_modes(runner, *tool, d);
  return devices;
}

} // namespace tdx::gpu
