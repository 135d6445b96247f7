// sysfs PCI reads. Attributes are hex strings ("0x10de"); links (driver,
// iommu_group) are resolved by their last path component, which keeps this
// working on captured trees whose links are relative.
#include "tdxctl/sysfs/pci.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>

namespace tdx::sysfs {

namespace fs = std::filesystem;

bool is_pci_address(std::string_view t) {
  if (t.size() != 12 || t[4] != ':' || t[7] != ':' || t[10] != '.') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (!std::isxdigit(static_cast<unsigned char>(t[i]))) return false;
  return t[11] >= '0' && t[11] <= '7';
}

std::optional<std::string> normalize_pci_address(std::string_view text) {
  std::string s(text);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  if (s.size() == 7) s = "0000:" + s;
  if (!is_pci_address(s)) return std::nullopt;
  return s;
}

static uint32_t read_hex(const core::Root& root, const std::string& path) {
  auto line = root.read_line(path);
  if (!line || line->empty()) return 0;
  try {
    return static_cast<uint32_t>(std::stoul(*line, nullptr, 16));
  } catch (const std::exception&) {
    return 0;
  }
}

static std::string link_name(const core::Root& root, const std::string& path) {
  std::error_code ec;
  auto target = fs::read_symlink(root.path(path), ec);
  return ec ? std::string() : target.filename().string();
}

std::optional<PciDevice> read_pci_device(const core::Root& root, const std::string& address) {
  std::string dir = "/sys/bus/pci/devices/" + address;
  if (!root.exists(dir)) return std::nullopt;
  PciDevice d;
  d.address = address;
  d.vendor = static_cast<uint16_t>(read_hex(root, dir + "/vendor"));
  d.device = static_cast<uint16_t>(read_hex(root, dir + "/device"));
  d.subsystem_vendor = static_cast<uint16_t>(read_hex(root, dir + "/subsystem_vendor"));
  d.subsystem_device = static_cast<uint16_t>(read_hex(root, dir + "/subsystem_device"));
  d.class_code = read_hex(root, dir + "/class");
  d.driver = link_name(root, dir + "/driver");
  if (auto o = root.read_line(dir + "/driver_override"); o && *o != "(null)") d.driver_override = *o;
  if (auto g = link_name(root, dir + "/iommu_group"); !g.empty()) {
    try {
      d.iommu_group = std::stoi(g);
    } catch (const std::exception&) {
    }
  }
  if (auto n = root.read_line(dir + "/numa_node")) {
    try {
      d.numa_node = std::stoi(*n);
    } catch (const std::exception&) {
    }
  }
  d.link_speed = root.read_line(dir + "/current_link_speed").value_or("");
  d.link_width = root.read_line(dir + "/current_link_width").value_or("");
  return d;
}

std::vector<PciDevice> scan_pci(const core::Root& root) {
  std::vector<PciDevice> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root.path("/sys/bus/pci/devices"), ec)) {
    auto name = entry.path().filename().string();
    if (!is_pci_address(name)) continue;
    if (auto d = read_pci_device(root, name)) out.push_back(std::move(*d));
  }
  std::sort(out.begin(), out.end(),
            [](const PciDevice& a, const PciDevice& b) { return a.address < b.address; });
  return out;
}

std::vector<std::string> iommu_group_members(const core::Root& root, int group) {
  std::vector<std::string> out;
  std::error_code ec;
  auto dir = root.path("/sys/kernel/iommu_groups/" + std::to_string(group) + "/devices");
  for (const auto& entry : fs::directory_iterator(dir, ec)) out.push_back(entry.path().filename());
  std::sort(out.begin(), out.end());
  return out;
}

bool iommu_groups_present(const core::Root& root) {
  std::error_code ec;
  fs::directory_iterator it(root.path("/sys/kernel/iommu_groups"), ec);
  return !ec && it != fs::directory_iterator();
}

} // namespace tdx::sysfs
