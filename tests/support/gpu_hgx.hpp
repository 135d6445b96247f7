#pragma once
// An HGX H100 host for the gpu tests, built as a sysfs/procfs tree: 8 H100
// SXM5 GPUs and 4 NVSwitches at the BDFs such boards enumerate, one IOMMU
// group per GPU (0000:18:00.0's group also holds its PCIe switch downstream
// port, a bridge; 0000:ba:00.0's holds an audio function), drivers nvidia /
// nvidia-nvswitch / vfio-pci (0000:db:00.0 is already passed through).
//
// KernelEmulator plays the kernel's part while a test runs: it polls the
// bind / unbind / drivers_probe files of the tree and moves the `driver`
// symlinks as the real driver core would (drivers_probe honours
// driver_override), so tests check the end state rather than the writes.
// It gathers every pending write before acting on any (see tick()), so a
// write nobody waits on is not lost to the next one into the same file.
// It also consumes writes to each device's `remove` (the device leaves the
// tree) and to /sys/bus/pci/rescan (removed devices come back with
// driver_override cleared and their default driver probed). Writes to
// `reset` stay in the file: the kernel's reset is synchronous, so a test
// reads them back after the command.
// Header-only so unit and integration tests share it without CMake changes.

#include "support/fixtures.hpp"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace tdx::test::hgx {

namespace fs = std::filesystem;

inline const std::vector<std::string> gpus{"0000:18:00.0", "0000:2a:00.0", "0000:3a:00.0",
                                           "0000:5d:00.0", "0000:9a:00.0", "0000:ab:00.0",
                                           "0000:ba:00.0", "0000:db:00.0"};
inline const std::vector<std::string> nvswitches{"0000:05:00.0", "0000:06:00.0", "0000:07:00.0",
                                                 "0000:08:00.0"};
inline const std::string bridge = "0000:17:00.0"; // shares GPU 0000:18:00.0's group
inline const std::string audio = "0000:ba:00.1";  // shares GPU 0000:ba:00.0's group

struct Dev {
  std::string address, vendor, device, cls, driver;
  int group;
  int numa;
};

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

inline void attach(const fs::path& root, const std::string& address, const std::string& driver) {
  link(root, "sys/bus/pci/devices/" + address + "/driver", "../../../bus/pci/drivers/" + driver);
  link(root, "sys/bus/pci/drivers/" + driver + "/" + address,
       "../../../../devices/pci0000:00/" + address);
}

inline void detach(const fs::path& root, const std::string& address) {
  auto dev = root / "sys/devices/pci0000:00" / address;
  std::error_code ec;
  auto target = fs::read_symlink(dev / "driver", ec);
  if (ec) return;
  fs::remove(dev / "driver");
  fs::remove(root / "sys/bus/pci/drivers" / target.filename() / address, ec);
}

// The first 64 bytes of config space: vendor and device ID, little-endian.
inline std::string config_space(const std::string& vendor, const std::string& device) {
  std::string out(64, '\0');
  auto v = std::stoul(vendor, nullptr, 16), d = std::stoul(device, nullptr, 16);
  out[0] = static_cast<char>(v & 0xff), out[1] = static_cast<char>(v >> 8);
  out[2] = static_cast<char>(d & 0xff), out[3] = static_cast<char>(d >> 8);
  return out;
}

inline void add_device(const fs::path& root, const Dev& d) {
  std::string dir = "sys/devices/pci0000:00/" + d.address + "/";
  put(root, dir + "vendor", d.vendor + "\n");
  put(root, dir + "device", d.device + "\n");
  put(root, dir + "subsystem_vendor", d.vendor + "\n");
  put(root, dir + "subsystem_device", "0x16c1\n");
  put(root, dir + "class", d.cls + "\n");
  put(root, dir + "driver_override", d.driver == "vfio-pci" ? "vfio-pci\n" : "(null)\n");
  put(root, dir + "numa_node", std::to_string(d.numa) + "\n");
  put(root, dir + "current_link_speed", "32.0 GT/s PCIe\n");
  put(root, dir + "current_link_width", "16\n");
  put(root, dir + "resource0", "");
  put(root, dir + "config", config_space(d.vendor, d.device));
  put(root, dir + "reset", "");
  put(root, dir + "remove", "");
  // NVSwitches: bus reset only; everything else FLR first, as on an HGX board.
  put(root, dir + "reset_method", d.cls == "0x068000" ? "bus\n" : "flr bus\n");
  link(root, "sys/bus/pci/devices/" + d.address, "../../../devices/pci0000:00/" + d.address);
  link(root, dir + "iommu_group", "../../../kernel/iommu_groups/" + std::to_string(d.group));
  link(root, "sys/kernel/iommu_groups/" + std::to_string(d.group) + "/devices/" + d.address,
       "../../../../devices/pci0000:00/" + d.address);
  if (!d.driver.empty()) attach(root, d.address, d.driver);
}

// The driver each device returns to when its override is cleared.
inline std::map<std::string, std::string> native_drivers() {
  std::map<std::string, std::string> out;
  for (const auto& g : gpus) out[g] = "nvidia";
  for (const auto& s : nvswitches) out[s] = "nvidia-nvswitch";
  out[audio] = "snd_hda_intel";
  out[bridge] = "pcieport";
  return out;
}

struct Options {
  bool vfio_loaded = true; // /sys/bus/pci/drivers/vfio-pci present
};

inline void build(const fs::path& root, Options options = {}) {
  std::vector<std::string> drivers{"nvidia", "nvidia-nvswitch", "snd_hda_intel", "pcieport"};
  if (options.vfio_loaded) drivers.push_back("vfio-pci");
  for (const auto& d : drivers) {
    put(root, "sys/bus/pci/drivers/" + d + "/bind", "");
    put(root, "sys/bus/pci/drivers/" + d + "/unbind", "");
  }
  put(root, "sys/bus/pci/drivers_probe", "");
  put(root, "sys/bus/pci/rescan", "");
  for (const auto* m : {"nvidia", "snd_hda_intel"}) put(root, std::string("sys/module/") + m + "/refcnt", "0\n");
  if (options.vfio_loaded) put(root, "sys/module/vfio_pci/refcnt", "0\n");
  for (size_t i = 0; i < gpus.size(); ++i) {
    // 0000:db:00.0 is already passed through (driverless while vfio-pci is not loaded)
    bool passed = gpus[i] == "0000:db:00.0";
    std::string driver = !passed ? "nvidia" : options.vfio_loaded ? "vfio-pci" : "";
    add_device(root, {gpus[i], "0x10de", "0x2330", "0x030200", driver,
                      static_cast<int>(40 + i), i < 4 ? 0 : 1});
    put(root, "proc/driver/nvidia/gpus/" + gpus[i] + "/information",
        "Model: \t\t NVIDIA H100 80GB HBM3\nIRQ:   \t\t 0\nDevice Minor: \t " + std::to_string(i) +
            "\nBus Location: \t " + gpus[i] + "\n");
  }
  for (size_t i = 0; i < nvswitches.size(); ++i)
    add_device(root, {nvswitches[i], "0x10de", "0x22a3", "0x068000", "nvidia-nvswitch",
                      static_cast<int>(30 + i), 0});
  add_device(root, {bridge, "0x1000", "0xc030", "0x060400", "pcieport", 40, 0});
  add_device(root, {audio, "0x10de", "0x22ba", "0x040300", "snd_hda_intel", 46, 1});
}

// A process holding a device node (e.g. nvidia-persistenced on /dev/nvidia0).
inline void add_process(const fs::path& root, int pid, const std::string& comm,
                        const std::string& target) {
  put(root, "proc/" + std::to_string(pid) + "/comm", comm + "\n");
  link(root, "proc/" + std::to_string(pid) + "/fd/3", target);
}

inline std::string driver_of(const fs::path& root, const std::string& address) {
  std::error_code ec;
  auto t = fs::read_symlink(root / "sys/bus/pci/devices" / address / "driver", ec);
  return ec ? std::string() : t.filename().string();
}

class KernelEmulator {
public:
  explicit KernelEmulator(fs::path root) : m_root(std::move(root)), m_native(native_drivers()) {
    m_thread = std::thread([this] {
      while (!m_stop) {
        tick();
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    });
  }
  ~KernelEmulator() {
    m_stop = true;
    m_thread.join();
  }
  KernelEmulator(const KernelEmulator&) = delete;
  KernelEmulator& operator=(const KernelEmulator&) = delete;

  int rescans() {
    std::lock_guard lock(m_mutex);
    return m_rescans;
  }

  // From now on `driver`'s probe of `address` fails (as vfio-pci's does for
  // a device whose group is not viable): bind and drivers_probe leave it
  // without that driver.
  void refuse(const std::string& address, const std::string& driver) {
    std::lock_guard lock(m_mutex);
    m_refused.emplace(address, driver);
  }

private:
  // Reads a written attribute and empties it, as a consumed write.
  std::string take(const fs::path& file) {
    auto text = trimmed(slurp(file));
    if (!text.empty()) std::ofstream(file, std::ios::trunc);
    return text;
  }

  fs::path stash() const { return m_root / "removed-devices"; }

  // The device leaves sysfs: unbound, its links gone, its directory kept
  // aside for the rescan.
  void remove_device(const std::string& address) {
    detach(m_root, address);
    auto dir = m_root / "sys/devices/pci0000:00" / address;
    auto group = fs::read_symlink(dir / "iommu_group").filename().string();
    fs::remove(m_root / "sys/bus/pci/devices" / address);
    fs::remove(m_root / "sys/kernel/iommu_groups" / group / "devices" / address);
    fs::create_directories(stash());
    fs::rename(dir, stash() / address);
  }

  // Enumeration finds the device again: a new device, so driver_override is
  // clear and its default driver probes it. The bus link comes last, so a
  // device visible under /sys/bus/pci/devices is complete.
  void rescan() {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(stash(), ec)) {
      auto address = e.path().filename().string();
      auto dir = m_root / "sys/devices/pci0000:00" / address;
      fs::rename(e.path(), dir);
      std::ofstream(dir / "driver_override", std::ios::trunc) << "(null)\n";
      auto group = fs::read_symlink(dir / "iommu_group").filename().string();
      link(m_root, "sys/kernel/iommu_groups/" + group + "/devices/" + address,
           "../../../../devices/pci0000:00/" + address);
      // attach() goes through the bus link, which does not exist yet.
      if (auto drv = m_native[address]; !drv.empty() && fs::exists(m_root / "sys/bus/pci/drivers" / drv)) {
        link(m_root, "sys/devices/pci0000:00/" + address + "/driver", "../../../bus/pci/drivers/" + drv);
        link(m_root, "sys/bus/pci/drivers/" + drv + "/" + address, "../../../../devices/pci0000:00/" + address);
      }
      link(m_root, "sys/bus/pci/devices/" + address, "../../../devices/pci0000:00/" + address);
    }
  }

  // The writes waiting in the tree, in the order tick() acts on them.
  struct Pending {
    std::vector<std::string> removed;
    bool rescan = false;
    std::vector<std::pair<std::string, std::string>> unbind, bind; // driver, address
    std::vector<std::string> probe;
    bool empty() const {
      return removed.empty() && !rescan && unbind.empty() && bind.empty() && probe.empty();
    }
  };

  // One pass over every attribute a command writes; true when it took any.
  bool gather(Pending& p) {
    bool took = false;
    std::error_code ec;
    for (const auto& d : fs::directory_iterator(m_root / "sys/bus/pci/devices", ec))
      if (!take(d.path() / "remove").empty()) {
        p.removed.push_back(d.path().filename().string());
        took = true;
      }
    if (!take(m_root / "sys/bus/pci/rescan").empty()) p.rescan = took = true;
    for (const auto& d : fs::directory_iterator(m_root / "sys/bus/pci/drivers", ec)) {
      auto name = d.path().filename().string();
      if (auto a = take(d.path() / "unbind"); !a.empty()) p.unbind.emplace_back(name, a), took = true;
      if (auto a = take(d.path() / "bind"); !a.empty()) p.bind.emplace_back(name, a), took = true;
    }
    if (auto a = take(m_root / "sys/bus/pci/drivers_probe"); !a.empty()) p.probe.push_back(a), took = true;
    return took;
  }

  // A real write acts before it returns; here one file can be written twice
  // before a tick reads it. A command writes what it does not wait on
  // (drivers_probe for a device no driver claims) before what it does, and
  // the earlier write is visible once the later one is: gathering until a
  // pass finds nothing new, before acting on any, loses neither.
  void tick() {
    Pending p;
    while (gather(p)) {
    }
    if (p.empty()) return;
    for (const auto& address : p.removed) remove_device(address);
    if (p.rescan) {
      {
        // Counted before the devices reappear, which is what a command waits for.
        std::lock_guard lock(m_mutex);
        ++m_rescans;
      }
      rescan();
    }
    for (const auto& [driver, address] : p.unbind) detach(m_root, address);
    // A bind matches as the kernel's does: driver_override, when set, must
    // name the driver; unset, the driver must be the one whose ID table has
    // the device (vfio-pci has none).
    for (const auto& [driver, address] : p.bind) {
      auto o = override_of(address);
      if (driver_of(m_root, address).empty() && (o.empty() ? m_native[address] == driver : o == driver))
        probe(address, driver);
    }
    for (const auto& a : p.probe) {
      if (!driver_of(m_root, a).empty()) continue;
      auto o = override_of(a);
      probe(a, o.empty() ? m_native[a] : o);
    }
  }

  std::string override_of(const std::string& address) {
    auto o = trimmed(slurp(m_root / "sys/bus/pci/devices" / address / "driver_override"));
    return o == "(null)" ? std::string() : o;
  }

  void probe(const std::string& address, const std::string& driver) {
    if (driver.empty() || !fs::exists(m_root / "sys/bus/pci/drivers" / driver)) return;
    {
      std::lock_guard lock(m_mutex);
      if (m_refused.contains({address, driver})) return;
    }
    attach(m_root, address, driver);
  }

  fs::path m_root;
  std::map<std::string, std::string> m_native;
  std::mutex m_mutex;
  int m_rescans = 0;
  std::set<std::pair<std::string, std::string>> m_refused; // address, driver
  std::atomic<bool> m_stop{false};
  std::thread m_thread;
};

} // namespace tdx::test::hgx
