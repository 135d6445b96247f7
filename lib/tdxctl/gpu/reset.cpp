// GPU reset plans. Compared with sek8s reset-gpus.sh (every vfio-pci device,
// `echo 1 > reset`, unbind/rebind on failure): only the devices named, a
// held device refuses instead of being reset under a running VM, the method
// is named (sysfs::reset_step narrows reset_method for the write), and the
// device is checked afterwards instead of a fixed `sleep 0.5`. --rescan is
// the remove/rescan half of NVIDIA's --recover-broken-gpu: it re-enumerates
// the device and reassigns its BARs, then restores the driver binding that
// the rescan dropped (driver_override belongs to the removed device).
#include "tdxctl/gpu/reset.hpp"

#include "tdxctl/gpu/in_use.hpp"
#include "tdxctl/gpu/inventory.hpp"
#include "tdxctl/sysfs/driver.hpp"
#include "tdxctl/sysfs/reset.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace tdx::gpu {

using core::Category;

namespace {

bool nvidia_driver(const std::string& driver) {
  return driver == "nvidia" || driver == "nvidia-nvswitch";
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

// The re-probe: live config space answers with the device's own IDs, and
// the device is on `driver` again ("" = any).
core::Step reprobe_step(const core::Root& root, const GpuDevice& device, const std::string& driver,
                        bool rescanned) {
  const auto& address = device.pci.address;
  core::Step step;
  step.id = "gpu.reprobe." + address;
  step.kind = "check";
  step.summary = fmt::format("re-probe {}: config space answers 0x{:04x}:0x{:04x}{}", address,
                             device.pci.vendor, device.pci.device,
                             driver.empty() ? "" : ", driver " + driver);
  step.detail = {{"vendor_id", fmt::format("0x{:04x}", device.pci.vendor)},
                 {"device_id", fmt::format("0x{:04x}", device.pci.device)},
                 {"driver", driver.empty() ? core::Json() : core::Json(driver)}};
  step.apply = [root, address, driver, rescanned, vendor = device.pci.vendor,
                id = device.pci.device] {
    std::string next = rescanned ? "power-cycle the host"
                                 : "try 'tdxctl gpu reset --rescan " + address + "'";
    auto ids = sysfs::read_config_ids(root, address);
    if (!ids)
      throw core::Failure(Category::failed, "gpu.reset_no_answer",
                          "cannot read the config space of " + address + " after the reset", next);
    if (ids->first != vendor || ids->second != id)
      throw core::Failure(Category::failed, "gpu.reset_no_answer",
                          fmt::format("{} reads 0x{:04x}:0x{:04x} on config space after the reset "
                                      "(expected 0x{:04x}:0x{:04x}){}",
                                      address, ids->first, ids->second, vendor, id,
                                      ids->first == 0xffff ? ": it did not come back" : ""),
                          next);
    if (!driver.empty() && !sysfs::wait_for_driver(root, address, driver)) {
      auto now = sysfs::current_driver(root, address);
      throw core::Failure(Category::failed, "gpu.reset_driver_lost",
                          address + " answers but is no longer on " + driver + " (driver now: " +
                              (now.empty() ? "none" : now) + ")",
                          "run 'tdxctl gpu bind " + address + "' or 'tdxctl gpu unbind " + address +
                              "' to put it where it belongs");
    }
  };
  return step;
}

core::Result<void> check_resettable(const core::Root& root, const GpuDevice& d,
                                    const ResetRequest& request,
                                    const std::optional<std::vector<std::string>>& methods) {
  const auto& address = d.pci.address;
  if (request.rescan) return {};
  if (nvidia_driver(d.pci.driver))
    return core::fail(Category::not_ready, "gpu.reset_bound_to_nvidia",
                      address + " (" + d.model + ") is bound to " + d.pci.driver +
                          ", which a sysfs reset would pull the device from under",
                      "pass --rescan (unbinds first), or 'tdxctl gpu bind " + address +
                          "' to move it to vfio-pci, then reset");
  if (!sysfs::can_reset(root, address) || (methods && methods->empty()))
    return core::fail(Category::not_ready, "gpu.no_reset",
                      address + " (" + d.model + "): the kernel has no reset method for it "
                                                 "(no usable " +
                          (methods ? std::string("reset_method") : std::string("reset")) + ")",
                      "pass --rescan to remove the device and rescan the bus instead");
  if (!request.method.empty()) {
    if (!methods)
      return core::fail(Category::invalid_input, "gpu.reset_method",
                        "--method " + request.method + ": this kernel has no reset_method for " +
                            address + ", so the method cannot be chosen",
                        "leave out --method to use the kernel's default");
    if (std::find(methods->begin(), methods->end(), request.method) == methods->end())
      return core::fail(Category::invalid_input, "gpu.reset_method",
                        "--method " + request.method + ": " + address + " offers " +
                            join(*methods),
                        "pass one of: " + join(*methods));
  }
  return {};
}

} // namespace

core::Result<ResetPlan> plan_reset(const core::Root& root, const ResetRequest& request) {
  if (request.rescan && !request.method.empty())
    return core::fail(Category::usage, "gpu.reset_method_rescan",
                      "--method and --rescan are mutually exclusive",
                      "--rescan removes the device instead of resetting it");
  auto selected = select_devices(root, request.devices, request.all);
  if (!selected) return std::unexpected(selected.error());

  std::vector<std::optional<std::vector<std::string>>> methods;
  for (const auto& d : *selected) {
    methods.push_back(sysfs::reset_methods(root, d.pci.address));
    TDX_TRY(check_resettable(root, d, request, methods.back()));
  }
  std::vector<const sysfs::PciDevice*> pci;
  for (const auto& d : *selected) pci.push_back(&d.pci);
  TDX_TRY(refuse_in_use(root, pci, request.rescan ? "remove and rescan" : "reset",
                        "stop the processes named (e.g. systemctl stop nvidia-persistenced "
                        "nvidia-fabricmanager), or shut the TD down"));

  ResetPlan out;
  for (size_t i = 0; i < selected->size(); ++i) {
    const auto& d = (*selected)[i];
    const auto& address = d.pci.address;
    std::string method;
    if (!request.rescan && methods[i])
      method = request.method.empty() ? methods[i]->front() : request.method;
    out.devices.push_back(
        {{"address", address},
         {"model", d.model},
         {"driver", d.pci.driver.empty() ? core::Json() : core::Json(d.pci.driver)},
         {"reset_methods", methods[i] ? core::Json(*methods[i]) : core::Json()},
         {"method", method.empty() ? core::Json() : core::Json(method)},
         {"rescan", request.rescan}});
    if (!request.rescan) {
      out.plan.add(sysfs::reset_step(root, address, method));
      out.plan.add(reprobe_step(root, d, d.pci.driver, false));
      continue;
    }
    if (!d.pci.driver.empty()) out.plan.add(sysfs::unbind_step(root, address, d.pci.driver));
    out.plan.add(sysfs::remove_step(root, address));
    out.plan.add(sysfs::rescan_step(root, address));
    if (!d.pci.driver.empty())
      out.plan.add(sysfs::rebind_step(root, address, d.pci.driver, d.pci.driver_override));
    else if (!d.pci.driver_override.empty())
      out.plan.add(sysfs::override_step(root, address, d.pci.driver_override));
    out.plan.add(reprobe_step(root, d, d.pci.driver, true));
  }
  return out;
}

} // namespace tdx::gpu
