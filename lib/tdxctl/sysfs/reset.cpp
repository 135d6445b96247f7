// sysfs reset, remove and rescan. The kernel's `reset` tries every method in
// reset_method in turn and reports only the overall result, so to name the
// method that reset the device tdxctl narrows reset_method to one method for
// the write and restores the list afterwards (the kernel parses it with
// sysfs_streq, the trailing newline is fine; an empty write would disable
// resets altogether, so the restore never writes an empty list). Writes go
// through write_attribute: never creating a file, errno in the message.
#include "tdxctl/sysfs/reset.hpp"

#include "tdxctl/sysfs/driver.hpp"

#include <sstream>
#include <thread>

namespace tdx::sysfs {

using core::Category;
using core::Failure;

namespace {

std::string device_path(const std::string& address, const std::string& attribute = {}) {
  return "/sys/bus/pci/devices/" + address + (attribute.empty() ? "" : "/" + attribute);
}

// remove and rescan return once the PCI core has acted, but udev and
// asynchronous probes may still be moving things; wait a bounded time.
template <class Pred> bool settle(Pred pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

} // namespace

std::optional<std::vector<std::string>> reset_methods(const core::Root& root,
                                                      const std::string& address) {
  auto line = root.read_line(device_path(address, "reset_method"));
  if (!line) return std::nullopt;
  // Space-separated since 5.15's final form; early patches used commas.
  for (auto& c : *line)
    if (c == ',') c = ' ';
  std::istringstream in(*line);
  std::vector<std::string> out;
  for (std::string m; in >> m;) out.push_back(m);
  return out;
}

bool can_reset(const core::Root& root, const std::string& address) {
  return root.exists(device_path(address, "reset"));
}

core::Step reset_step(const core::Root& root, const std::string& address,
                      const std::string& method) {
  std::string methods_path = device_path(address, "reset_method");
  std::string reset_path = device_path(address, "reset");
  auto previous = root.read_line(methods_path).value_or("");
  core::Json writes = core::Json::array();
  if (!method.empty()) writes.push_back({{"path", methods_path}, {"value", method}});
  writes.push_back({{"path", reset_path}, {"value", "1"}});
  if (!method.empty() && !previous.empty())
    writes.push_back({{"path", methods_path}, {"value", previous}});
  core::Step step;
  step.id = "sysfs.reset." + address;
  step.kind = "sysfs-write";
  step.summary = "reset " + address + " with " +
                 (method.empty() ? std::string("the kernel's default method") : method) +
                 ": write 1 to " + reset_path +
                 (method.empty() ? "" : " (reset_method '" + method + "' for the write, then '" +
                                            previous + "' again)");
  step.detail = {{"method", method.empty() ? core::Json() : core::Json(method)},
                 {"writes", std::move(writes)}};
  step.apply = [root, address, method, methods_path, reset_path, previous] {
    if (method.empty()) {
      write_attribute(root, reset_path, "1");
      return;
    }
    write_attribute(root, methods_path, method);
    try {
      write_attribute(root, reset_path, "1");
    } catch (const Failure& f) {
      if (!previous.empty()) write_attribute(root, methods_path, previous);
      auto e = f.error();
      throw Failure(Category::failed, "sysfs.reset",
                    "the kernel could not reset " + address + " with " + method + " (" +
                        e.message + ")",
                    e.hint);
    }
    if (!previous.empty()) write_attribute(root, methods_path, previous);
  };
  return step;
}

std::optional<std::pair<uint16_t, uint16_t>> read_config_ids(const core::Root& root,
                                                             const std::string& address) {
  auto config = root.read(device_path(address, "config"));
  if (!config || config->size() < 4) return std::nullopt;
  auto byte = [&](size_t i) { return static_cast<uint16_t>(static_cast<unsigned char>((*config)[i])); };
  return std::pair<uint16_t, uint16_t>{static_cast<uint16_t>(byte(0) | byte(1) << 8),
                                       static_cast<uint16_t>(byte(2) | byte(3) << 8)};
}

core::Step remove_step(const core::Root& root, const std::string& address) {
  std::string path = device_path(address, "remove");
  core::Step step;
  step.id = "sysfs.remove." + address;
  step.kind = "sysfs-write";
  step.summary = "write 1 to " + path + " (the kernel forgets the device)";
  step.detail = {{"path", path}, {"value", "1"}};
  step.apply = [root, address, path] {
    write_attribute(root, path, "1");
    if (!settle([&] { return !root.exists(device_path(address)); }, std::chrono::seconds(10)))
      throw Failure(Category::failed, "sysfs.remove",
                    address + " is still present after writing 1 to " + path);
  };
  step.undo = [root] { write_attribute(root, "/sys/bus/pci/rescan", "1"); };
  return step;
}

core::Step rescan_step(const core::Root& root, const std::string& address) {
  std::string path = "/sys/bus/pci/rescan";
  core::Step step;
  step.id = "sysfs.rescan." + address;
  step.kind = "sysfs-write";
  step.summary = "write 1 to " + path + " (expect " + address + " back)";
  step.detail = {{"path", path}, {"value", "1"}, {"expect_device", address}};
  step.apply = [root, address, path] {
    write_attribute(root, path, "1");
    if (!settle([&] { return root.exists(device_path(address)); }, std::chrono::seconds(10)))
      throw Failure(Category::failed, "sysfs.rescan",
                    address + " did not come back after a rescan of the PCI bus",
                    "check dmesg for the device's link and BAR errors; a GPU that stays "
                    "missing needs a host power cycle");
  };
  return step;
}

core::Step rebind_step(const core::Root& root, const std::string& address,
                       const std::string& driver, const std::string& override_) {
  core::Step step;
  step.id = "sysfs.rebind." + address;
  step.kind = "sysfs-write";
  step.summary = "put " + address + " back on " + driver +
                 (override_.empty() ? "" : " (driver_override '" + override_ + "')");
  step.detail = {{"driver", driver}, {"driver_override", override_}};
  step.is_done = [root, address, driver, override_] {
    return current_driver(root, address) == driver && current_override(root, address) == override_;
  };
  step.apply = [root, address, driver, override_] {
    if (current_override(root, address) != override_)
      write_attribute(root, device_path(address, "driver_override"), override_);
    auto now = current_driver(root, address);
    if (now == driver) return;
    if (!now.empty()) {
      write_attribute(root, "/sys/bus/pci/drivers/" + now + "/unbind", address);
      if (!wait_for_driver(root, address, ""))
        throw Failure(Category::failed, "sysfs.unbind",
                      address + " is still bound to " + now + " after the rescan");
    }
    write_attribute(root, "/sys/bus/pci/drivers_probe", address);
    if (!wait_for_driver(root, address, driver))
      throw Failure(Category::failed, "sysfs.probe",
                    "after the rescan, " + address + " did not go back to " + driver +
                        " (driver now: " +
                        (current_driver(root, address).empty() ? "none" : current_driver(root, address)) + ")",
                    "check dmesg for the " + driver + " probe error");
  };
  return step;
}

} // namespace tdx::sysfs
