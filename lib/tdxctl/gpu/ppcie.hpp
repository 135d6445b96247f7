#pragma once
// Protected-PCIe mode for an HGX board: every GPU and NVSwitch must be
// switched, through NVIDIA's admin tool, before a TD can use them together.
// The switch is a Plan of tool invocations (each with its reset flag) in the
// order NVIDIA documents, and each is verified by querying the mode again.

#include "tdxctl/gpu/mode_switch.hpp"

#include <string>
#include <vector>

namespace tdx::gpu {

enum class PpcieMode { on, off };

using PpcieRequest = ModeRequest;
using PpciePlan = ModePlan;

// on: NVSwitches to PPCIe on, then each GPU CC off and PPCIe on. off: each
// GPU PPCIe off, then the NVSwitches. Steps already in the wanted mode are
// "unchanged". Refuses as prepare_switch does. Under --dry-run nothing is
// run, not even a query, so every switch shows as planned.
core::Result<PpciePlan> plan_ppcie(const core::Root& root, core::ProcessRunner& runner,
                                   const PpcieRequest& request, PpcieMode mode,
                                   core::DryRun dry_run);

} // namespace tdx::gpu
