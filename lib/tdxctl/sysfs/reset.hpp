#pragma once
// Resetting a PCI function through sysfs, under a Root: the kernel's own
// reset (`reset`, with the method chosen through `reset_method`), removing
// the device and rescanning the bus, and putting a rescanned device back on
// the driver it had (a rescan creates a new device: driver_override is gone
// and the kernel probes its default driver). Each effect is a core::Step
// with the exact paths and values in its detail.

#include "tdxctl/core/plan.hpp"
#include "tdxctl/core/root.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tdx::sysfs {

// The reset methods the kernel has for the device, in the order it tries
// them ("flr bus" -> {flr, bus}); nullopt when there is no reset_method
// attribute (kernels before 5.15, or a device the kernel cannot reset).
std::optional<std::vector<std::string>> reset_methods(const core::Root& root,
                                                      const std::string& address);
// True when the device has a `reset` attribute (the kernel can reset it).
bool can_reset(const core::Root& root, const std::string& address);

// Resets the function with `method` alone: writes it to reset_method, 1 to
// reset, then writes the previous reset_method back (also when the reset
// failed), so the method named is the one the kernel used. With `method`
// "" (no reset_method attribute) only 1 goes to reset: the kernel's choice.
// Failure (failed) names the method and the errno the kernel returned.
core::Step reset_step(const core::Root& root, const std::string& address,
                      const std::string& method);

// The vendor and device ID read live from config space (the first four
// bytes of `config`, not the cached `vendor` attribute); nullopt when
// unreadable. A device that fell off the bus reads 0xffff.
std::optional<std::pair<uint16_t, uint16_t>> read_config_ids(const core::Root& root,
                                                             const std::string& address);

// Writes 1 to the device's `remove` and waits until it is gone. Undo
// rescans the bus.
core::Step remove_step(const core::Root& root, const std::string& address);
// Writes 1 to /sys/bus/pci/rescan and waits until `address` is back.
core::Step rescan_step(const core::Root& root, const std::string& address);
// After a rescan: restores driver_override (`override_` "" leaves it clear)
// and moves the device to `driver` from wherever the kernel's probe put it.
core::Step rebind_step(const core::Root& root, const std::string& address,
                       const std::string& driver, const std::string& override_);

} // namespace tdx::sysfs
