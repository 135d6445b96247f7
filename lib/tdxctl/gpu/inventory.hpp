#pragma once
// The GPUs and NVSwitches of a host, as `tdxctl gpu list` shows them and as
// bind/unbind/ppcie select them: each with its model, driver, IOMMU group
// and the group's other members.

#include "tdxctl/core/error.hpp"
#include "tdxctl/core/output.hpp"
#include "tdxctl/core/root.hpp"
#include "tdxctl/gpu/in_use.hpp"
#include "tdxctl/gpu/models.hpp"
#include "tdxctl/sysfs/pci.hpp"

#include <optional>
#include <string>
#include <vector>

namespace tdx::gpu {

struct Modes {
  std::string cc;    // on | off | devtools | "" (not reported)
  std::string ppcie; // on | off | "" (not reported)
  std::string note;  // why a mode is missing
};

struct GpuDevice {
  sysfs::PciDevice pci;
  Kind kind = Kind::gpu;
  std::string model;
  std::vector<sysfs::PciDevice> group; // the other members of its IOMMU group
  std::optional<Modes> modes;          // when the admin tool was asked
  std::optional<std::vector<OpenFile>> users; // who holds it, when /proc was scanned
};

// Every NVIDIA GPU and NVSwitch under the Root, sorted by address.
std::vector<GpuDevice> list_devices(const core::Root& root);

// The devices named by `addresses` (short or full BDFs), or all of them with
// `all`. Errors (invalid_input) name a malformed address or one that is not
// an NVIDIA GPU/NVSwitch; none named and not `all` is a usage error.
core::Result<std::vector<GpuDevice>> select_devices(const core::Root& root,
                                                    const std::vector<std::string>& addresses,
                                                    bool all);

core::Json to_json(const GpuDevice& device);
core::Json to_json(const std::vector<GpuDevice>& devices);
void print_table(std::ostream& out, const std::vector<GpuDevice>& devices,
                 bool with_header = true);

} // namespace tdx::gpu
