#pragma once
// The PCI view of sysfs, under a Root: devices, their ids, class, driver,
// driver_override, IOMMU group, NUMA node and link. Every /sys/bus/pci read
// in tdxctl happens here (or in driver.cpp for writes), so the --root seam is
// honoured in exactly one folder.

#include "tdxctl/core/root.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tdx::sysfs {

// "0000:3b:00.0": domain 4 hex, bus 2, device 2, function 1 (0-7).
bool is_pci_address(std::string_view text);
// Accepts the short form "3b:00.0" too; returns the full lower-case form.
std::optional<std::string> normalize_pci_address(std::string_view text);

struct PciDevice {
  std::string address; // full BDF
  uint16_t vendor = 0;
  uint16_t device = 0;
  uint16_t subsystem_vendor = 0;
  uint16_t subsystem_device = 0;
  uint32_t class_code = 0; // 24-bit: class, subclass, prog-if
  std::string driver;      // bound driver name, empty if none
  std::string driver_override;
  std::optional<int> iommu_group;
  int numa_node = -1;
  std::string link_speed; // "32.0 GT/s PCIe", empty if not reported
  std::string link_width; // "16"
  uint16_t class_prefix() const { return static_cast<uint16_t>(class_code >> 8); }
  bool is_bridge() const { return class_prefix() == 0x0604; }
};

std::optional<PciDevice> read_pci_device(const core::Root& root, const std::string& address);
// All devices under /sys/bus/pci/devices, sorted by address.
std::vector<PciDevice> scan_pci(const core::Root& root);
// Addresses of the devices in an IOMMU group, sorted.
std::vector<std::string> iommu_group_members(const core::Root& root, int group);
// True when /sys/kernel/iommu_groups exists and holds at least one group.
bool iommu_groups_present(const core::Root& root);

} // namespace tdx::sysfs
