#pragma once
// CC mode for GPUs that are passed through one by one (hosts with 1-7 GPUs
// and no NVSwitch, where the old setup-gpus.sh chose CC mode): each GPU
// leaves PPCIe mode if it was in it, then switches its CC mode, each with a
// reset and a verifying query, through the same admin tool as `gpu ppcie`.

#include "tdxctl/gpu/mode_switch.hpp"

#include <string>

namespace tdx::gpu {

// devtools: CC on with the debugging interfaces open (NVIDIA: not for production).
enum class CcMode { on, off, devtools };

const char* cc_mode_name(CcMode mode);

// Per GPU: PPCIe off, then CC to `mode`; then each selected NVSwitch PPCIe
// off (a board leaving PPCIe mode). `off` therefore means "no confidential
// mode at all", which is what host.yaml's `gpu.mode: off` asks for. Steps
// already in the wanted mode are "unchanged"; refusals and --dry-run as
// plan_ppcie.
core::Result<ModePlan> plan_cc(const core::Root& root, core::ProcessRunner& runner,
                               const ModeRequest& request, CcMode mode, core::DryRun dry_run);

} // namespace tdx::gpu
