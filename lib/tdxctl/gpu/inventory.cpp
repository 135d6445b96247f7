// GPU/NVSwitch inventory from sysfs. The same discovery rule everywhere
// (vendor 0x10de, class 0x0300/0x0302/0x0680, any domain), where today's
// scripts used four different ones (EXISTING-SCRIPTS §2.1), one of them
// limited to domain 0000.
#include "tdxctl/gpu/inventory.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <ostream>

namespace tdx::gpu {

using core::Category;

std::vector<GpuDevice> list_devices(const core::Root& root) {
  std::vector<GpuDevice> out;
  for (auto& pci : sysfs::scan_pci(root)) {
    auto kind = classify(pci.vendor, pci.class_code);
    if (kind == Kind::other) continue;
    GpuDevice d;
    d.kind = kind;
    d.model = model_name(kind, pci.device);
    if (pci.iommu_group)
      for (const auto& member : sysfs::iommu_group_members(root, *pci.iommu_group))
        if (member != pci.address)
          if (auto m = sysfs::read_pci_device(root, member)) d.group.push_back(std::move(*m));
    d.pci = std::move(pci);
    out.push_back(std::move(d));
  }
  return out;
}

core::Result<std::vector<GpuDevice>> select_devices(const core::Root& root,
                                                    const std::vector<std::string>& addresses,
                                                    bool all) {
  if (!all && addresses.empty())
    return core::fail(Category::usage, "gpu.no_devices", "no devices named",
                      "name PCI addresses (e.g. 0000:18:00.0) or pass --all; "
                      "'tdxctl gpu list' shows them");
  if (all && !addresses.empty())
    return core::fail(Category::usage, "gpu.all_and_devices",
                      "--all and a device list are mutually exclusive");
  auto devices = list_devices(root);
  if (all) {
    if (devices.empty())
      return core::fail(Category::not_ready, "gpu.none_found",
                        "no NVIDIA GPU or NVSwitch under " + root.path("/sys/bus/pci/devices").string());
    return devices;
  }
  std::vector<GpuDevice> out;
  for (const auto& text : addresses) {
    auto address = sysfs::normalize_pci_address(text);
    if (!address)
      return core::fail(Category::invalid_input, "gpu.bad_address",
                        "'" + text + "' is not a PCI address",
                        "expected DDDD:BB:DD.F or BB:DD.F in hex, e.g. 0000:18:00.0");
    auto it = std::find_if(devices.begin(), devices.end(),
                           [&](const GpuDevice& d) { return d.pci.address == *address; });
    if (it == devices.end()) {
      bool exists = root.exists("/sys/bus/pci/devices/" + *address);
      return core::fail(Category::invalid_input, "gpu.not_nvidia",
                        *address + (exists ? " is not an NVIDIA GPU or NVSwitch"
                                           : " does not exist on this host"),
                        "'tdxctl gpu list' shows the GPUs and NVSwitches");
    }
    if (std::none_of(out.begin(), out.end(),
                     [&](const GpuDevice& d) { return d.pci.address == *address; }))
      out.push_back(*it);
  }
  return out;
}

static core::Json pci_json(const sysfs::PciDevice& p) {
  return {{"address", p.address},
          {"vendor_id", fmt::format("0x{:04x}", p.vendor)},
          {"device_id", fmt::format("0x{:04x}", p.device)},
          {"class", fmt::format("0x{:06x}", p.class_code)},
          {"driver", p.driver.empty() ? core::Json() : core::Json(p.driver)},
          {"bridge", p.is_bridge()}};
}

core::Json to_json(const GpuDevice& d) {
  core::Json j{{"address", d.pci.address},
               {"kind", kind_name(d.kind)},
               {"model", d.model},
               {"vendor_id", fmt::format("0x{:04x}", d.pci.vendor)},
               {"device_id", fmt::format("0x{:04x}", d.pci.device)},
               {"class", fmt::format("0x{:06x}", d.pci.class_code)},
               {"driver", d.pci.driver.empty() ? core::Json() : core::Json(d.pci.driver)},
               {"driver_override",
                d.pci.driver_override.empty() ? core::Json() : core::Json(d.pci.driver_override)},
               {"iommu_group", d.pci.iommu_group ? core::Json(*d.pci.iommu_group) : core::Json()},
               {"numa_node", d.pci.numa_node},
               {"link_speed", d.pci.link_speed.empty() ? core::Json() : core::Json(d.pci.link_speed)},
               {"link_width", d.pci.link_width.empty() ? core::Json() : core::Json(d.pci.link_width)}};
  core::Json group = core::Json::array();
  for (const auto& m : d.group) group.push_back(pci_json(m));
  j["group_members"] = std::move(group);
  if (d.modes) {
    j["cc_mode"] = d.modes->cc.empty() ? core::Json() : core::Json(d.modes->cc);
    j["ppcie_mode"] = d.modes->ppcie.empty() ? core::Json() : core::Json(d.modes->ppcie);
    if (!d.modes->note.empty()) j["mode_note"] = d.modes->note;
  }
  if (d.users) {
    core::Json users = core::Json::array();
    for (const auto& u : holders(*d.users))
      users.push_back({{"pid", u.pid}, {"process", u.comm}, {"files", u.files}});
    j["in_use_by"] = std::move(users);
  }
  return j;
}

core::Json to_json(const std::vector<GpuDevice>& devices) {
  core::Json arr = core::Json::array();
  for (const auto& d : devices) arr.push_back(to_json(d));
  return arr;
}

void print_table(std::ostream& out, const std::vector<GpuDevice>& devices, bool with_header) {
  if (devices.empty()) {
    out << "no NVIDIA GPUs or NVSwitches found\n";
    return;
  }
  bool modes = std::any_of(devices.begin(), devices.end(),
                           [](const GpuDevice& d) { return d.modes.has_value(); });
  bool users = std::any_of(devices.begin(), devices.end(),
                           [](const GpuDevice& d) { return d.users.has_value(); });
  std::vector<std::string> headers{"ADDRESS", "KIND", "MODEL", "DRIVER", "OVERRIDE", "GROUP",
                                   "NUMA", "LINK"};
  if (modes) {
    headers.push_back("CC");
    headers.push_back("PPCIE");
  }
  if (users) headers.push_back("IN USE BY");
  headers.push_back("GROUP MEMBERS");
  core::Table table(headers);
  for (const auto& d : devices) {
    std::string members;
    for (const auto& m : d.group) {
      if (!members.empty()) members += ", ";
      members += m.address + (m.is_bridge() ? " (bridge)" : "") +
                 (m.driver.empty() ? "" : " [" + m.driver + "]");
    }
    std::string link = d.pci.link_speed.empty()
                           ? "-"
                           : d.pci.link_speed.substr(0, d.pci.link_speed.find(" PCIe")) + " x" +
                                 d.pci.link_width;
    std::vector<std::string> row{d.pci.address,
                                 kind_name(d.kind),
                                 d.model,
                                 d.pci.driver.empty() ? "-" : d.pci.driver,
                                 d.pci.driver_override.empty() ? "-" : d.pci.driver_override,
                                 d.pci.iommu_group ? std::to_string(*d.pci.iommu_group) : "none",
                                 std::to_string(d.pci.numa_node),
                                 link};
    if (modes) {
      row.push_back(d.modes && !d.modes->cc.empty() ? d.modes->cc : "-");
      row.push_back(d.modes && !d.modes->ppcie.empty() ? d.modes->ppcie : "-");
    }
    if (users) {
      std::string who;
      for (const auto& h : holders(d.users.value_or(std::vector<OpenFile>{})))
        who += (who.empty() ? "" : ", ") + h.comm + " (" + std::to_string(h.pid) + ")";
      row.push_back(who.empty() ? "-" : who);
    }
    row.push_back(members.empty() ? "-" : members);
    table.row(std::move(row));
  }
  table.print(out, with_header);
}

} // namespace tdx::gpu
