// CC switching. The per-GPU sequence is the one canonical's setup-gpus.sh
// runs for CC mode (`--set-ppcie-mode=off --reset-after-ppcie-mode-switch`,
// then `--set-cc-mode=on --reset-after-cc-mode-switch`): the two modes
// exclude each other, and a GPU coming from PPCIe must leave it first. The
// NVSwitches follow their GPUs out of PPCIe, the reverse of `ppcie on`.
#include "tdxctl/gpu/cc_mode.hpp"

namespace tdx::gpu {

const char* cc_mode_name(CcMode mode) {
  switch (mode) {
  case CcMode::on: return "on";
  case CcMode::off: return "off";
  case CcMode::devtools: return "devtools";
  }
  return "off";
}

core::Result<ModePlan> plan_cc(const core::Root& root, core::ProcessRunner& runner,
                               const ModeRequest& request, CcMode mode, core::DryRun dry_run) {
  auto target = prepare_switch(root, runner, request, dry_run);
  if (!target) return std::unexpected(target.error());
  ModePlan out;
  out.devices = std::move(target->devices);
  for (const auto& d : out.devices)
    if (d.kind == Kind::gpu) {
      out.plan.add(switch_step(runner, target->tool, d, Setting::ppcie, "off", "cc"));
      out.plan.add(switch_step(runner, target->tool, d, Setting::cc, cc_mode_name(mode), "cc"));
    }
  for (const auto& d : out.devices)
    if (d.kind == Kind::nvswitch)
      out.plan.add(switch_step(runner, target->tool, d, Setting::ppcie, "off", "cc"));
  return out;
}

} // namespace tdx::gpu
