#pragma once
// Driver binding through sysfs, under a Root: the four writes the kernel
// offers (driver_override, <driver>/unbind, drivers_probe, <driver>/bind),
// each as a core::Step with the exact path and value in its detail, plus the
// wait that turns "the write returned" into "the device is where we want it".

#include "tdxctl/core/plan.hpp"
#include "tdxctl/core/root.hpp"

#include <chrono>
#include <string>
#include <string_view>

namespace tdx::sysfs {

// Writes `value` to an existing sysfs attribute (never creates one: a missing
// attribute means a missing driver or device). Failure (failed) on error,
// naming the path and errno.
void write_attribute(const core::Root& root, const std::string& path, std::string_view value);

// The driver the device is bound to now ("" when none).
std::string current_driver(const core::Root& root, const std::string& address);
std::string current_override(const core::Root& root, const std::string& address);

// Polls until the device's driver is `expected` ("" = unbound) or `timeout`
// passes. Writes to sysfs are synchronous for most drivers, but probing can
// be asynchronous (PROBE_PREFER_ASYNCHRONOUS) and udev may race us.
bool wait_for_driver(const core::Root& root, const std::string& address,
                     const std::string& expected,
                     std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));

// driver_override := driver ("" clears it). Undo restores the previous value.
core::Step override_step(const core::Root& root, const std::string& address,
                         const std::string& driver);
// Unbinds the device from `driver` and waits until it is driverless.
// Undo binds it back to `driver`.
core::Step unbind_step(const core::Root& root, const std::string& address,
                       const std::string& driver);
// Writes the address to /sys/bus/pci/drivers_probe and verifies that
// `expected` now holds the device: drivers_probe succeeds even when no driver
// claims the device, so the check is ours. With `expected` "" any outcome
// (including no driver at all) is accepted.
core::Step probe_step(const core::Root& root, const std::string& address,
                      const std::string& expected);

} // namespace tdx::sysfs
