// vfio-pci bind/unbind plans. Per group member: driver_override, unbind from
// the current driver, drivers_probe, then verify the driver link (the kernel
// reports success from drivers_probe even when nothing binds). Compared with
// bind.sh: groups without IOMMU support refuse instead of being skipped in
// silence, in-use devices and non-NVIDIA group members refuse unless
// --force, and the end state is checked.
#include "tdxctl/gpu/vfio_plan.hpp"

#include "tdxctl/gpu/in_use.hpp"
#include "tdxctl/gpu/inventory.hpp"
#include "tdxctl/gpu/persist.hpp"
#include "tdxctl/sysfs/driver.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <thread>

namespace tdx::gpu {

using core::Category;

namespace {

const char* const in_use_hint =
    "stop the processes named (e.g. systemctl stop nvidia-persistenced nvidia-fabricmanager, "
    "or shut the TD down), or pass --force";

struct Group {
  int id = 0;
  std::vector<sysfs::PciDevice> members; // bridges excluded
  std::vector<std::string> bridges;
};

// The IOMMU groups of the selected devices, GPUs' groups first, then
// NVSwitches' (bind.sh's order), each once.
core::Result<std::vector<Group>> groups_of(const core::Root& root,
                                           const std::vector<GpuDevice>& devices,
                                           const std::string& verb) {
  std::vector<const GpuDevice*> ordered;
  for (auto kind : {Kind::gpu, Kind::nvswitch})
    for (const auto& d : devices)
      if (d.kind == kind) ordered.push_back(&d);
  std::vector<Group> out;
  for (const auto* d : ordered) {
    if (!d->pci.iommu_group) {
      bool any = sysfs::iommu_groups_present(root);
      return core::fail(
          Category::not_ready, "gpu.no_iommu_group",
          "cannot " + verb + " " + d->pci.address + " (" + d->model + "): it has no IOMMU group" +
              (any ? "" : " (no IOMMU groups exist on this host: the IOMMU is off, or this is "
                          "a VM without a virtual IOMMU)"),
          "enable VT-d in the BIOS and boot with intel_iommu=on iommu=pt; a GPU inside a VM "
          "cannot be passed on to a TD");
    }
    int id = *d->pci.iommu_group;
    if (std::any_of(out.begin(), out.end(), [&](const Group& g) { return g.id == id; })) continue;
    Group g{id, {}, {}};
    for (const auto& address : sysfs::iommu_group_members(root, id)) {
      auto m = sysfs::read_pci_device(root, address);
      if (!m) continue;
      if (m->is_bridge()) g.bridges.push_back(address);
      else g.members.push_back(std::move(*m));
    }
    out.push_back(std::move(g));
  }
  return out;
}

core::Json groups_json(const std::vector<Group>& groups) {
  core::Json arr = core::Json::array();
  for (const auto& g : groups) {
    core::Json members = core::Json::array();
    for (const auto& m : g.members) members.push_back(m.address);
    arr.push_back({{"group", g.id}, {"devices", members}, {"skipped_bridges", g.bridges}});
  }
  return arr;
}

core::Step modprobe_step(const core::Root& root, core::ProcessRunner& runner) {
  core::Command cmd{{"modprobe", "vfio-pci"}};
  core::Step step;
  step.id = "vfio.module";
  step.kind = "command";
  step.summary = "load the vfio-pci driver: " + core::describe(cmd);
  step.detail = {{"argv", cmd.argv}};
  step.is_done = [root] { return root.exists("/sys/bus/pci/drivers/vfio-pci"); };
  step.apply = [root, &runner, cmd] {
    core::run_checked(runner, cmd, "loading vfio-pci");
    // The driver directory appears once the module's init has registered it.
    for (int i = 0; i < 600 && !root.exists("/sys/bus/pci/drivers/vfio-pci"); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (!root.exists("/sys/bus/pci/drivers/vfio-pci"))
      throw core::Failure(Category::failed, "gpu.vfio_missing",
                          "modprobe vfio-pci succeeded but /sys/bus/pci/drivers/vfio-pci did not "
                          "appear");
  };
  return step;
}

} // namespace

core::Result<VfioPlan> plan_bind(const core::Root& root, core::ProcessRunner& runner,
                                 const BindRequest& request) {
  auto selected = select_devices(root, request.devices, request.all);
  if (!selected) return std::unexpected(selected.error());
  auto groups = groups_of(root, *selected, "bind");
  if (!groups) return std::unexpected(groups.error());

  std::vector<const sysfs::PciDevice*> changing;
  for (const auto& g : *groups)
    for (const auto& m : g.members) {
      if (m.vendor != nvidia_vendor && request.force == core::Force::no)
        return core::fail(Category::not_ready, "gpu.group_shared",
                          fmt::format("IOMMU group {} also holds {} (vendor 0x{:04x}, class "
                                      "0x{:06x}), which binding would take from the host",
                                      g.id, m.address, m.vendor, m.class_code),
                          "put the GPU in a slot with its own IOMMU group (ACS), or pass --force "
                          "to pass that device through too");
      if (m.driver != "vfio-pci") changing.push_back(&m);
    }
  if (request.force == core::Force::no) {
    auto ok = refuse_in_use(root, changing, "bind", in_use_hint);
    if (!ok) return std::unexpected(ok.error());
  }

  VfioPlan out;
  out.groups = groups_json(*groups);
  out.plan.add(modprobe_step(root, runner));
  for (const auto& g : *groups)
    for (const auto& m : g.members) {
      out.plan.add(sysfs::override_step(root, m.address, "vfio-pci"));
      if (!m.driver.empty() && m.driver != "vfio-pci")
        out.plan.add(sysfs::unbind_step(root, m.address, m.driver));
      out.plan.add(sysfs::probe_step(root, m.address, "vfio-pci"));
    }
  if (request.persist == Persist::yes) {
    auto addresses = persisted_addresses(root);
    for (const auto& g : *groups)
      for (const auto& m : g.members) addresses.push_back(m.address);
    std::sort(addresses.begin(), addresses.end());
    addresses.erase(std::unique(addresses.begin(), addresses.end()), addresses.end());
    for (auto& s : persist_steps(root, addresses)) out.plan.add(std::move(s));
  }
  return out;
}

// The driver a device goes back to: the NVIDIA drivers when loaded, else
// whichever driver drivers_probe finds (possibly none).
static std::string native_driver(const core::Root& root, const sysfs::PciDevice& d) {
  auto kind = classify(d.vendor, d.class_code);
  const char* name = kind == Kind::gpu ? "nvidia" : kind == Kind::nvswitch ? "nvidia-nvswitch" : "";
  if (*name && root.exists(std::string("/sys/bus/pci/drivers/") + name)) return name;
  return {};
}

core::Result<VfioPlan> plan_unbind(const core::Root& root, const UnbindRequest& request) {
  auto selected = select_devices(root, request.devices, request.all);
  if (!selected) return std::unexpected(selected.error());
  auto groups = groups_of(root, *selected, "unbind");
  if (!groups) return std::unexpected(groups.error());

  std::vector<const sysfs::PciDevice*> changing;
  for (const auto& g : *groups)
    for (const auto& m : g.members)
      if (m.driver == "vfio-pci" || m.driver_override == "vfio-pci") changing.push_back(&m);
  if (request.force == core::Force::no) {
    auto ok = refuse_in_use(root, changing, "unbind", in_use_hint);
    if (!ok) return std::unexpected(ok.error());
  }

  VfioPlan out;
  out.groups = groups_json(*groups);
  for (const auto* m : changing) {
    out.plan.add(sysfs::override_step(root, m->address, ""));
    if (m->driver == "vfio-pci") out.plan.add(sysfs::unbind_step(root, m->address, "vfio-pci"));
    out.plan.add(sysfs::probe_step(root, m->address, native_driver(root, *m)));
  }
  // A persisted reservation would hand the devices back to vfio-pci at the
  // next boot: drop them from it.
  auto persisted = persisted_addresses(root);
  auto before = persisted.size();
  for (const auto& g : *groups)
    for (const auto& m : g.members) std::erase(persisted, m.address);
  if (persisted.size() != before)
    for (auto& s : persist_steps(root, persisted)) out.plan.add(std::move(s));
  return out;
}

} // namespace tdx::gpu
