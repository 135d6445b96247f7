// Mode switches through nvidia_gpu_tools.py, shared by PPCIe and CC. Every
// switch carries its --reset-after-*-mode-switch flag (a mode set without a
// reset stays pending on the device) and is verified by a fresh query: the
// old setup-gpus.sh never checked that a switch took.
#include "tdxctl/gpu/mode_switch.hpp"

#include "tdxctl/gpu/in_use.hpp"

namespace tdx::gpu {

using core::Category;

std::vector<std::string> cc_mode_args(const std::string& address, const std::string& mode) {
  return {"--gpu-bdf=" + address, "--set-cc-mode=" + mode, "--reset-after-cc-mode-switch"};
}

std::vector<std::string> ppcie_mode_args(const std::string& address, const std::string& mode) {
  return {"--gpu-bdf=" + address, "--set-ppcie-mode=" + mode, "--reset-after-ppcie-mode-switch"};
}

static core::Result<void> check_switchable(const core::Root& root,
                                           const std::vector<GpuDevice>& devices, core::Force force) {
  for (const auto& d : devices)
    if (d.pci.driver == "nvidia" || d.pci.driver == "nvidia-nvswitch")
      return core::fail(Category::not_ready, "gpu.bound_to_nvidia",
                        d.pci.address + " (" + d.model + ") is bound to " + d.pci.driver +
                            "; the admin tool cannot switch a device its driver holds",
                        "run 'tdxctl gpu bind " + d.pci.address + "' (or --all) first");
  if (force == core::Force::yes) return {};
  auto files = scan_device_files(root);
  for (const auto& d : devices)
    for (const auto& f : device_users(root, d.pci, files))
      return core::fail(Category::not_ready, "gpu.in_use",
                        "cannot switch modes: " + d.pci.address + " is in use (" + describe(f) + ")",
                        "shut down the TD using it, or pass --force");
  return {};
}

core::Result<SwitchTarget> prepare_switch(const core::Root& root, core::ProcessRunner& runner,
                                          const ModeRequest& request, core::DryRun dry_run) {
  auto tool = find_admin_tool(request.admin_tool);
  if (!tool) return std::unexpected(tool.error());
  auto selected = select_devices(root, request.devices, request.all);
  if (!selected) return std::unexpected(selected.error());
  TDX_TRY(check_switchable(root, *selected, request.force));
  for (auto& d : *selected)
    d.modes = dry_run == core::DryRun::yes ? Modes{{}, {}, "not queried under --dry-run"}
                                           : query_modes(runner, *tool, d);
  return SwitchTarget{std::move(*tool), std::move(*selected)};
}

core::Step switch_step(core::ProcessRunner& runner, const AdminTool& tool, const GpuDevice& device,
                       Setting setting, const std::string& mode, const std::string& family) {
  bool cc = setting == Setting::cc;
  core::Command cmd{tool.argv(cc ? cc_mode_args(device.pci.address, mode)
                                 : ppcie_mode_args(device.pci.address, mode))};
  cmd.timeout = std::chrono::minutes(5); // includes the device reset
  std::string what = std::string(cc ? "CC" : "PPCIe") + " mode " + mode;
  std::string current = device.modes ? (cc ? device.modes->cc : device.modes->ppcie) : "";
  core::Step step;
  step.id = family + (cc ? ".cc." : ".ppcie.") + device.pci.address;
  step.kind = "command";
  step.summary = device.pci.address + " (" + device.model + "): " + what + ": " + core::describe(cmd);
  step.detail = {{"argv", cmd.argv}, {"current", current.empty() ? core::Json() : core::Json(current)}};
  step.is_done = [current, mode] { return current == mode; };
  step.apply = [&runner, tool, device, cmd, cc, mode, what, family] {
    core::run_checked(runner, cmd, "nvidia_gpu_tools.py (" + what + " on " + device.pci.address + ")");
    auto now = query_modes(runner, tool, device);
    auto got = cc ? now.cc : now.ppcie;
    if (got != mode)
      throw core::Failure(Category::failed, "gpu.mode_not_switched",
                          device.pci.address + ": asked for " + what + ", the device reports " +
                              (got.empty() ? "no mode" : got) +
                              (now.note.empty() ? "" : " (" + now.note + ")"),
                          "run 'tdxctl gpu " + family + " status' and check the tool's output with -v");
  };
  return step;
}

core::Result<std::vector<GpuDevice>> mode_status(const core::Root& root,
                                                 core::ProcessRunner& runner,
                                                 const ModeRequest& request) {
  auto tool = find_admin_tool(request.admin_tool);
  if (!tool) return std::unexpected(tool.error());
  auto selected = select_devices(root, request.devices, request.all || request.devices.empty());
  if (!selected) return std::unexpected(selected.error());
  for (auto& d : *selected) d.modes = query_modes(runner, *tool, d);
  return selected;
}

core::Result<std::vector<GpuDevice>> list_with_modes(const core::Root& root,
                                                     core::ProcessRunner& runner,
                                                     const std::string& admin_tool) {
  auto devices = list_devices(root);
  auto files = scan_device_files(root);
  for (auto& d : devices) d.users = device_users(root, d.pci, files);
  auto tool = find_admin_tool(admin_tool);
  if (!tool) {
    if (!admin_tool.empty()) return std::unexpected(tool.error());
    return devices;
  }
  for (auto& d : devices) d.modes = query_modes(runner, *tool, d);
  return devices;
}

} // namespace tdx::gpu
