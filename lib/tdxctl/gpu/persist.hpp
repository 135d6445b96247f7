#pragma once
// Making a vfio-pci binding survive a reboot (bind --persist): a udev rule
// that sets driver_override for each reserved device as it appears, a
// modprobe.d softdep that loads vfio-pci before the NVIDIA driver, and the
// rule that lets group kvm (QEMU) open /dev/vfio/*. Rendered from
// templates/gpu/*.mustache under --root /etc.

#include "tdxctl/core/plan.hpp"
#include "tdxctl/core/root.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace tdx::gpu {

inline constexpr const char* persist_rules_path = "/etc/udev/rules.d/70-tdxctl-vfio-pci.rules";
inline constexpr const char* persist_modprobe_path = "/etc/modprobe.d/tdxctl-vfio-pci.conf";
inline constexpr const char* kvm_rules_path = "/etc/udev/rules.d/60-tdxctl-vfio-kvm.rules";


// The addresses the persisted rule file lists now (empty if none).
std::vector<std::string> persisted_addresses(const core::Root& root);

// Steps that make the persisted set `addresses` (an empty set removes the
// rule and softdep files). Each is done when the file already says so.
std::vector<core::Step> persist_steps(const core::Root& root,
                                      const std::vector<std::string>& addresses);

} // namespace tdx::gpu
