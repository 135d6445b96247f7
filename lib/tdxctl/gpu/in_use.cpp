// The in-use scan behind bind/unbind/ppcie refusals. /proc/<pid>/fd links
// are read with readlink only, so a captured or fixture /proc (whose links
// point at host paths that do not exist there) works like the live one.
#include "tdxctl/gpu/in_use.hpp"

#include <algorithm>
#include <filesystem>
#include <optional>

namespace tdx::gpu {

namespace fs = std::filesystem;

static bool interesting(const std::string& target) {
  return target.starts_with("/dev/nvidia") || target.starts_with("/dev/vfio/") ||
         target.starts_with("/sys/");
}

std::vector<OpenFile> scan_device_files(const core::Root& root) {
  std::vector<OpenFile> out;
  std::error_code ec;
  for (const auto& proc : fs::directory_iterator(root.path("/proc"), ec)) {
    auto name = proc.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code fd_ec;
    std::string comm;
    for (const auto& fd : fs::directory_iterator(proc.path() / "fd", fd_ec)) {
      std::error_code link_ec;
      auto target = fs::read_symlink(fd.path(), link_ec).string();
      if (link_ec || !interesting(target)) continue;
      if (comm.empty())
        comm = root.read_line("/proc/" + name + "/comm").value_or("?");
      out.push_back({std::stoi(name), comm, target});
    }
  }
  return out;
}

static std::optional<int> nvidia_minor(const core::Root& root, const std::string& address) {
  auto info = root.read("/proc/driver/nvidia/gpus/" + address + "/information");
  if (!info) return std::nullopt;
  auto pos = info->find("Device Minor:");
  if (pos == std::string::npos) return std::nullopt;
  try {
    return std::stoi(info->substr(pos + 13));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::vector<OpenFile> device_users(const core::Root& root, const sysfs::PciDevice& device,
                                   const std::vector<OpenFile>& files) {
  std::vector<OpenFile> out;
  std::optional<int> minor;
  if (device.driver == "nvidia") minor = nvidia_minor(root, device.address);
  // iommufd's per-device node: /sys/bus/pci/devices/<bdf>/vfio-dev/vfioN.
  std::vector<std::string> vfio_cdevs;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(
           root.path("/sys/bus/pci/devices/" + device.address + "/vfio-dev"), ec))
    vfio_cdevs.push_back("/dev/vfio/devices/" + e.path().filename().string());
  for (const auto& f : files) {
    const auto& t = f.target;
    bool hit = false;
    if (t.find("/" + device.address + "/resource") != std::string::npos ||
        t.find("/" + device.address + "/config") != std::string::npos) {
      hit = true;
    } else if (device.driver == "nvidia" && t.starts_with("/dev/nvidia") &&
               !t.starts_with("/dev/nvidia-nvswitch")) {
      auto rest = t.substr(11);
      bool numbered = !rest.empty() && rest.find_first_not_of("0123456789") == std::string::npos;
      hit = !numbered || !minor || std::stoi(rest) == *minor;
    } else if (device.driver == "nvidia-nvswitch" && t.starts_with("/dev/nvidia-nvswitch")) {
      hit = true;
    } else if (device.driver == "vfio-pci" && device.iommu_group &&
               (t == "/dev/vfio/" + std::to_string(*device.iommu_group) ||
                std::find(vfio_cdevs.begin(), vfio_cdevs.end(), t) != vfio_cdevs.end())) {
      hit = true;
    }
    if (hit) out.push_back(f);
  }
  return out;
}

std::vector<Holder> holders(const std::vector<OpenFile>& files) {
  std::vector<Holder> out;
  for (const auto& f : files) {
    auto it = std::find_if(out.begin(), out.end(), [&](const Holder& h) { return h.pid == f.pid; });
    if (it == out.end()) out.push_back({f.pid, f.comm, {f.target}});
    else if (std::find(it->files.begin(), it->files.end(), f.target) == it->files.end())
      it->files.push_back(f.target);
  }
  return out;
}

core::Result<void> refuse_in_use(const core::Root& root,
                                 const std::vector<const sysfs::PciDevice*>& devices,
                                 const std::string& verb, const std::string& hint) {
  auto files = scan_device_files(root);
  std::vector<std::string> reasons;
  for (const auto* d : devices)
    for (const auto& f : device_users(root, *d, files))
      reasons.push_back(d->address + ": " + describe(f));
  if (reasons.empty()) return {};
  std::string message = "cannot " + verb + ": device in use (" + reasons.front();
  if (reasons.size() > 1) message += "; and " + std::to_string(reasons.size() - 1) + " more";
  message += ")";
  return core::fail(core::Category::not_ready, "gpu.in_use", message, hint);
}

std::string describe(const OpenFile& file) {
  return file.comm + " (pid " + std::to_string(file.pid) + ") holds " + file.target;
}

} // namespace tdx::gpu
