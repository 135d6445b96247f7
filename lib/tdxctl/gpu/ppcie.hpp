#pragma once
// Protected-PCIe mode for an HGX board: every GPU and NVSwitch must be
// switched, through NVIDIA's admin tool, before a TD can use them together.
// The switch is a Plan of tool invocations (each with its reset flag) in the
// order NVIDIA documents, and each is verified by querying the mode again.

#include "tdxctl/core/plan.hpp"
#include "tdxctl/core/root.hpp"
#include "tdxctl/core/runner.hpp"
#include "tdxctl/gpu/admin_tool.hpp"
#include "tdxctl/gpu/inventory.hpp"
#include "tdxctl/gpu/vfio_plan.hpp"

#include <string>
#include <vector>

namespace tdx::gpu {

enum class PpcieMode { on, off };

struct PpcieRequest {
  std::vector<std::string> devices;
  bool all = false;
  std::string admin_tool; // --admin-tool (file or directory); "" = env / defaults
  Force force = Force::no; // switch even if a VM holds the device's VFIO group
};

struct PpciePlan {
  core::Plan plan;
  std::vector<GpuDevice> devices; // with the modes found while planning
};

// The tool's argv for one switch: CC or PPCIe, on or off, with its reset flag.
std::vector<std::string> cc_mode_args(const std::string& address, const std::string& mode);
std::vector<std::string> ppcie_mode_args(const std::string& address, const std::string& mode);

// on: NVSwitches to PPCIe on, then each GPU CC off and PPCIe on. off: each
// GPU PPCIe off, then the NVSwitches. Steps already in the wanted mode are
// "unchanged". Refuses (not_ready) a device still on an NVIDIA driver (the
// tool aborts on those) or in use. Under --dry-run nothing is run, not even a
// query, so every switch shows as planned.
core::Result<PpciePlan> plan_ppcie(const core::Root& root, core::ProcessRunner& runner,
                                   const PpcieRequest& request, PpcieMode mode,
                                   core::DryRun dry_run);

// The devices with their queried modes (read-only).
core::Result<std::vector<GpuDevice>> ppcie_status(const core::Root& root,
                                                  core::ProcessRunner& runner,
                                                  const PpcieRequest& request);

} // namespace tdx::gpu

namespace tdx::gpu {

// `gpu list`: the inventory, with modes when the admin tool is available.
// With `admin_tool` set, a missing tool is an error; otherwise modes are
// queried only when the tool is found ($TDXCTL_GPU_ADMIN_TOOL or defaults).
core::Result<std::vector<GpuDevice>> list_with_modes(const core::Root& root,
                                                     core::ProcessRunner& runner,
                                                     const std::string& admin_tool);

} // namespace tdx::gpu
