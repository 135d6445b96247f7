// PPCIe switching. Sequence (NVIDIA's PPCIe deployment guide, and what
// canonical's setup-gpus.sh runs): per NVSwitch `--set-ppcie-mode=on
// --reset-after-ppcie-mode-switch`, per GPU `--set-cc-mode=off
// --reset-after-cc-mode-switch` then the PPCIe switch. Unlike setup-gpus.sh
// the choice never depends on how many GPUs the host has (`gpu cc` is the
// other mode, chosen by the operator or host.yaml's gpu.mode).
#include "tdxctl/gpu/ppcie.hpp"

namespace tdx::gpu {

core::Result<PpciePlan> plan_ppcie(const core::Root& root, core::ProcessRunner& runner,
                                   const PpcieRequest& request, PpcieMode mode,
                                   core::DryRun dry_run) {
  auto target = prepare_switch(root, runner, request, dry_run);
  if (!target) return std::unexpected(target.error());
  PpciePlan out;
  out.devices = std::move(target->devices);
  std::string want = mode == PpcieMode::on ? "on" : "off";
  auto add_kind = [&](Kind kind) {
    for (const auto& d : out.devices) {
      if (d.kind != kind) continue;
      if (kind == Kind::gpu && mode == PpcieMode::on)
        out.plan.add(switch_step(runner, target->tool, d, Setting::cc, "off", "ppcie"));
      out.plan.add(switch_step(runner, target->tool, d, Setting::ppcie, want, "ppcie"));
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

} // namespace tdx::gpu
