// tdxctl gpu: NVIDIA GPUs and NVSwitches: list, vfio-pci binding, PPCIe mode
#include "context.hpp"

namespace tdx::cmd {

void add_gpu(CLI::App& app, Context&) {
  auto* group = app.add_subcommand("gpu", "NVIDIA GPUs and NVSwitches: list, vfio-pci binding, PPCIe mode");
  group->require_subcommand(1);
  add_unbuilt_verbs(group, {{"list", "List NVIDIA GPUs and NVSwitches"}, {"bind", "Bind devices (whole IOMMU groups) to vfio-pci"}, {"unbind", "Give devices back to their drivers"}, {"ppcie", "Switch or report protected-PCIe mode"}});
}

} // namespace tdx::cmd
