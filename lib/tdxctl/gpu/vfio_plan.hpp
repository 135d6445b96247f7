#pragma once
// Binding GPUs and NVSwitches to vfio-pci and giving them back, as Plans.
// A device is passed through with its whole IOMMU group (the kernel gives a
// VM the group, not the function); PCI bridges in the group stay on the
// host. Refusals (no IOMMU group, a device in use, a foreign device in the
// group) are decided while planning, so --dry-run reports them too.

#include "tdxctl/core/fs.hpp"
#include "tdxctl/core/plan.hpp"
#include "tdxctl/core/root.hpp"
#include "tdxctl/core/runner.hpp"

#include <string>
#include <vector>

namespace tdx::gpu {

enum class Persist { no, yes };

struct BindRequest {
  std::vector<std::string> devices; // BDFs (short or full)
  bool all = false;
  core::Force force = core::Force::no;     // bind even if in use or sharing a group with a non-NVIDIA device
  Persist persist = Persist::no;
};

struct UnbindRequest {
  std::vector<std::string> devices;
  bool all = false;
  core::Force force = core::Force::no; // unbind even if a VM holds the VFIO group
};

struct VfioPlan {
  core::Plan plan;
  core::Json groups = core::Json::array(); // [{group, devices:[...], skipped_bridges:[...]}]
};

// Errors: usage/invalid_input for bad selections; not_ready (exit 3) for a
// device without an IOMMU group, in use, or grouped with a non-NVIDIA device.
// `runner` loads vfio-pci (modprobe) when the driver is not there yet.
core::Result<VfioPlan> plan_bind(const core::Root& root, core::ProcessRunner& runner,
                                 const BindRequest& request);
core::Result<VfioPlan> plan_unbind(const core::Root& root, const UnbindRequest& request);

} // namespace tdx::gpu
