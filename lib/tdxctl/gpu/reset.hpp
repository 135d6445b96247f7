#pragma once
// `gpu reset`: the kernel's function reset for GPUs and NVSwitches, or with
// --rescan the recovery path of NVIDIA's --fix-broken-gpu (unbind, remove,
// rescan), as a Plan. Both refuse a device a process holds, name the reset
// method in the step, and end by re-probing: the device must answer on
// config space and be back on the driver it had.

#include "tdxctl/core/output.hpp"
#include "tdxctl/core/plan.hpp"
#include "tdxctl/core/root.hpp"

#include <string>
#include <vector>

namespace tdx::gpu {

struct ResetRequest {
  std::vector<std::string> devices;
  bool all = false;
  std::string method;  // --method: one of the device's reset_method; "" = the kernel's first
  bool rescan = false; // --rescan: unbind, remove, rescan, back on its driver
};

struct ResetPlan {
  core::Plan plan;
  core::Json devices = core::Json::array(); // [{address, model, driver, reset_methods, method, rescan}]
};

// Errors: usage/invalid_input for bad selections, a --method the device
// does not offer (listing those it does) or --method with --rescan;
// not_ready (exit 3) for a device in use, one the kernel cannot reset, or
// (without --rescan) one its NVIDIA driver holds: the driver is not told
// of a sysfs reset, so the device goes to vfio-pci first or uses --rescan.
core::Result<ResetPlan> plan_reset(const core::Root& root, const ResetRequest& request);

} // namespace tdx::gpu
