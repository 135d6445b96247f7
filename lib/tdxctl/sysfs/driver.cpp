// sysfs driver writes, through core::Root's pseudo-file writer: it opens the
// attribute without O_CREAT (on a real host a missing attribute means a
// missing driver or device, and on a fixture tree it must not silently become
// a new plain file) and never follows a link out of --root. Values and
// paths go into each Step's detail so --dry-run shows every write exactly.
#include "tdxctl/sysfs/driver.hpp"

#include <filesystem>
#include <thread>

namespace tdx::sysfs {

namespace fs = std::filesystem;
using core::Category;
using core::Failure;

void write_attribute(const core::Root& root, const std::string& path, std::string_view value) {
  auto written = root.write(path, std::string(value) + "\n");
  if (written) return;
  auto error = written.error();
  if (error.code == "root.open")
    error.hint = root.exists(path) ? "run as root" : "the driver or device is not present (is the module loaded?)";
  if (error.code != "root.escape") error.code = "sysfs.write";
  throw Failure(std::move(error));
}

std::string current_driver(const core::Root& root, const std::string& address) {
  std::error_code ec;
  auto target = fs::read_symlink(root.path("/sys/bus/pci/devices/" + address + "/driver"), ec);
  return ec ? std::string() : target.filename().string();
}

std::string current_override(const core::Root& root, const std::string& address) {
  auto v = root.read_line("/sys/bus/pci/devices/" + address + "/driver_override").value_or("");
  return v == "(null)" ? std::string() : v;
}
template <class Pred>
static bool wait_until(Pred pred,
                       std::chrono::milliseconds timeout = std::chrono::milliseconds(3000)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

bool wait_for_driver(const core::Root& root, const std::string& address,
                     const std::string& expected, std::chrono::milliseconds timeout) {
  return wait_until([&] { return current_driver(root, address) == expected; }, timeout);
}

namespace {

std::string override_path(const std::string& address) {
  return "/sys/bus/pci/devices/" + address + "/driver_override";
}

// Writes the address to `driver`'s unbind and waits until the device has no
// driver: a step's apply and a rollback check it alike.
void unbind_now(const core::Root& root, const std::string& address, const std::string& driver) {
  std::string path = "/sys/bus/pci/drivers/" + driver + "/unbind";
  write_attribute(root, path, address);
  if (!wait_for_driver(root, address, ""))
    throw Failure(Category::failed, "sysfs.unbind",
                  address + " is still bound to " + current_driver(root, address) + " after writing to " + path);
}

} // namespace

core::Step override_step(const core::Root& root, const std::string& address,
                         const std::string& driver) {
  std::string path = override_path(address);
  auto previous = current_override(root, address);
  core::Step step;
  step.id = "sysfs.override." + address;
  step.kind = "sysfs-write";
  step.summary = driver.empty() ? "clear " + path : "write '" + driver + "' to " + path;
  step.detail = {{"path", path}, {"value", driver}, {"previous", previous}};
  step.is_done = [root, address, driver] { return current_override(root, address) == driver; };
  step.apply = [root, path, driver] { write_attribute(root, path, driver); };
  step.undo = [root, path, previous] { write_attribute(root, path, previous); };
  return step;
}

core::Step unbind_step(const core::Root& root, const std::string& address,
                       const std::string& driver) {
  std::string path = "/sys/bus/pci/drivers/" + driver + "/unbind";
  core::Step step;
  step.id = "sysfs.unbind." + address;
  step.kind = "sysfs-write";
  step.summary = "write " + address + " to " + path;
  step.detail = {{"path", path}, {"value", address}};
  step.is_done = [root, address, driver] { return current_driver(root, address) != driver; };
  step.apply = [root, address, driver] { unbind_now(root, address, driver); };
  // The kernel matches a bind against driver_override first: with the
  // override naming another driver (a bind plan sets it before unbinding)
  // or none for a driver without an ID table (vfio-pci), the bind fails
  // with ENODEV. So the override names `driver` for the bind and is then
  // put back as it was, for the override step's own undo. The rollback is
  // checked like the step: "rolled back" means the device is on its driver.
  step.undo = [root, address, driver] {
    const std::string before = current_override(root, address);
    if (before != driver) write_attribute(root, override_path(address), driver);
    std::string bind = "/sys/bus/pci/drivers/" + driver + "/bind";
    bool bound = false;
    try {
      write_attribute(root, bind, address);
      bound = wait_for_driver(root, address, driver);
    } catch (...) {
      if (before != driver) write_attribute(root, override_path(address), before);
      throw;
    }
    if (before != driver) write_attribute(root, override_path(address), before);
    if (!bound)
      throw Failure(Category::failed, "sysfs.bind",
                    address + " did not go back to " + driver + " after writing to " + bind);
  };
  return step;
}

core::Step probe_step(const core::Root& root, const std::string& address,
                      const std::string& expected) {
  std::string path = "/sys/bus/pci/drivers_probe";
  core::Step step;
  step.id = "sysfs.probe." + address;
  step.kind = "sysfs-write";
  step.summary = "write " + address + " to " + path +
                 (expected.empty() ? "" : " (expect driver " + expected + ")");
  step.detail = {{"path", path}, {"value", address}, {"expect_driver", expected}};
  step.is_done = [root, address, expected] {
    auto d = current_driver(root, address);
    return expected.empty() ? !d.empty() : d == expected;
  };
  step.apply = [root, path, address, expected] {
    write_attribute(root, path, address);
    if (expected.empty()) return; // whatever driver (if any) wants it
    if (!wait_for_driver(root, address, expected)) {
      auto now_driver = current_driver(root, address);
      throw Failure(Category::failed, "sysfs.probe",
                    "drivers_probe did not bind " + address + " to " + expected +
                        " (driver now: " + (now_driver.empty() ? "none" : now_driver) + ")",
                    "check dmesg for the " + expected + " probe error");
    }
  };
  step.undo = [root, address] {
    auto d = current_driver(root, address);
    if (!d.empty()) unbind_now(root, address, d);
  };
  return step;
}

} // namespace tdx::sysfs
