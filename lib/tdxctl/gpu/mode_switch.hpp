#pragma once
// What `gpu ppcie` and `gpu cc` share: the request, the plan they return,
// and the one switch step (an admin-tool invocation with its reset flag,
// verified by querying the mode again). Each mode family (ppcie.cpp,
// cc_mode.cpp) only decides which switches, in which order.

#include "tdxctl/core/plan.hpp"
#include "tdxctl/core/root.hpp"
#include "tdxctl/core/runner.hpp"
#include "tdxctl/gpu/admin_tool.hpp"
#include "tdxctl/gpu/inventory.hpp"
#include "tdxctl/gpu/vfio_plan.hpp"

#include <string>
#include <vector>

namespace tdx::gpu {

struct ModeRequest {
  std::vector<std::string> devices;
  bool all = false;
  std::string admin_tool; // --admin-tool (file or directory); "" = env / defaults
  core::Force force = core::Force::no; // switch even if a VM holds the device's VFIO group
};

struct ModePlan {
  core::Plan plan;
  std::vector<GpuDevice> devices; // with the modes found while planning
};

// The setting a switch changes: the GPU's CC mode or the PPCIe mode.
enum class Setting { cc, ppcie };

// The tool's argv for one switch: CC or PPCIe, on or off, with its reset flag.
std::vector<std::string> cc_mode_args(const std::string& address, const std::string& mode);
std::vector<std::string> ppcie_mode_args(const std::string& address, const std::string& mode);

// The tool, the selected devices and their current modes. Refuses
// (not_ready) a device still on an NVIDIA driver (the tool aborts on those)
// or in use (unless force). Under --dry-run no query runs: modes are unknown.
struct SwitchTarget {
  AdminTool tool;
  std::vector<GpuDevice> devices;
};
core::Result<SwitchTarget> prepare_switch(const core::Root& root, core::ProcessRunner& runner,
                                          const ModeRequest& request, core::DryRun dry_run);

// One switch of `setting` to `mode` on `device`, id "<family>.<setting>.<bdf>".
// Done when the device already reports `mode`; after applying, the mode is
// queried again and a mismatch is a Failure naming both. `family` is the
// command group ("ppcie", "cc") that the failure hint points at.
core::Step switch_step(core::ProcessRunner& runner, const AdminTool& tool, const GpuDevice& device,
                       Setting setting, const std::string& mode, const std::string& family);

// The devices with their queried modes (read-only); all when none are named.
core::Result<std::vector<GpuDevice>> mode_status(const core::Root& root,
                                                 core::ProcessRunner& runner,
                                                 const ModeRequest& request);

// `gpu list`: the inventory with who holds each device, and the modes when
// the admin tool is available. With `admin_tool` set, a missing tool is an
// error; otherwise modes are queried only when the tool is found
// ($TDXCTL_GPU_ADMIN_TOOL or defaults).
core::Result<std::vector<GpuDevice>> list_with_modes(const core::Root& root,
                                                     core::ProcessRunner& runner,
                                                     const std::string& admin_tool);

} // namespace tdx::gpu
