// The facts come from the same seams every command uses (--root for
// /proc and /sys, the GPU inventory), so `config init` on a captured host
// tree writes the file that host would get. /proc/net/route rather than
// netlink: it is readable under --root, and this is a suggestion the
// operator reviews, not an action.
#include "tdxctl/up/config_init.hpp"

#include "tdxctl/attest/fresh_quote.hpp"
#include "tdxctl/gpu/inventory.hpp"
#include "tdxctl/volume/cache_volume.hpp"

#include <fmt/format.h>

#include <sys/statvfs.h>

#include <filesystem>
#include <sstream>

namespace tdx::up {

std::optional<std::string> default_route_from_proc(const std::string& route_table) {
  std::istringstream in(route_table);
  std::string line;
  std::getline(in, line); // header: Iface Destination Gateway Flags ...
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string iface, dest, gateway, flags, refcnt, use, metric, mask;
    if (!(fields >> iface >> dest >> gateway >> flags >> refcnt >> use >> metric >> mask)) continue;
    unsigned long f = std::strtoul(flags.c_str(), nullptr, 16);
    if (dest == "00000000" && mask == "00000000" && (f & 0x1) /* RTF_UP */) return iface;
  }
  return std::nullopt;
}

HostFacts gather_host_facts(const core::Root& root, const std::string& volume_dir) {
  HostFacts facts;
  facts.volume_dir = volume_dir;
  if (auto route = root.read("/proc/net/route"))
    facts.public_interface = default_route_from_proc(*route).value_or("");
  for (const auto& d : gpu::list_devices(root)) {
    if (d.kind == gpu::Kind::gpu) facts.gpus.push_back(d.pci.address);
    else if (d.kind == gpu::Kind::nvswitch) facts.nvswitches.push_back(d.pci.address);
  }
  // The volume directory may not exist yet: measure the filesystem that will hold it.
  std::filesystem::path dir = root.path(volume_dir);
  std::error_code ec;
  while (!dir.empty() && !std::filesystem::exists(dir, ec) && dir != dir.root_path()) dir = dir.parent_path();
  struct statvfs st{};
  if (::statvfs(dir.c_str(), &st) == 0) facts.free_bytes = uint64_t(st.f_bavail) * st.f_frsize;
  return facts;
}

std::string render_host_yaml(const HostFacts& f) {
  constexpr uint64_t gib = 1ull << 30;
  std::string out =
      "# host.yaml for `tdxctl up` / `tdxctl down` (written by `tdxctl config init`).\n"
      "# Check it with `tdxctl config check -c FILE`; see tdxctl-up(1) for every key.\n"
      "# Relative paths are relative to this file's directory.\n\n"
      "host:\n"
      "  require_attestation: false   # true: refuse to start without the QGS socket\n\n";
  if (f.gpus.empty() && f.nvswitches.empty()) {
    out += "# No NVIDIA GPU or NVSwitch found on this host.\n"
           "# gpu:\n#   devices: all            # or a list: [0000:18:00.0, ...]\n"
           "#   mode: cc                # ppcie (GPUs with NVSwitches), cc (without) or off\n\n";
  } else {
    out += fmt::format("gpu:\n  # Found {} GPU(s) and {} NVSwitch(es); they go to vfio-pci before the TD starts.\n"
                       "  devices:\n", f.gpus.size(), f.nvswitches.size());
    for (const auto& g : f.gpus) out += "    - " + g + "   # GPU\n";
    for (const auto& s : f.nvswitches) out += "    - " + s + "   # NVSwitch\n";
    out += fmt::format("  mode: {}   # {}\n"
                       "  persist: false   # true: keep the vfio-pci binding across reboots\n"
                       "  # admin_tool: /opt/gpu-admin-tools   # nvidia_gpu_tools.py, needed to switch modes\n\n",
                       f.nvswitches.empty() ? "cc" : "ppcie",
                       f.nvswitches.empty() ? "CC mode per GPU: no NVSwitch found (ppcie is for HGX boards)"
                                            : "protected PCIe: NVSwitches found (an HGX board)");
  }
  out += "# The tdx-config volume's values. Uncomment with the miner's identity and\n"
         "# td.config_volume below; the seed is never written here (a 0600 file).\n"
         "# config:\n#   hostname: miner-0\n#   miner_ss58: 5...\n#   miner_seed_file: /etc/tdxctl/miner-seed\n"
         "#   vm_ip: 192.168.100.2/24\n#   gateway: 192.168.100.1\n#   dns: host\n\n";
  std::string cache_size = volume::k_cache_default_size;
  out += "volumes:\n  format: qcow2\n";
  if (f.free_bytes) {
    out += fmt::format("  # {} GiB free under {} (volumes are sparse: they grow as the guest writes).\n",
                       *f.free_bytes / gib, f.volume_dir);
    if (*f.free_bytes < 5000 * gib) cache_size = fmt::format("{}G", std::max<uint64_t>(1, *f.free_bytes * 9 / 10 / gib));
  }
  out += "  cache_size: " + cache_size + "\n\n";
  out += "network:\n  mode: bridge\n  bridge: br-tdx\n  bridge_address: 192.168.100.1/24\n"
         "  vm_address: 192.168.100.2\n";
  if (f.public_interface.empty())
    out += "  # No IPv4 default route found: set the interface for NAT and forwards.\n"
           "  # public_interface: eth0\n";
  else
    out += "  public_interface: " + f.public_interface + "   # the default route's interface\n";
  out += "  forwards: [tcp/6443, tcp/30000-32767]\n\n";
  out += "td:\n  name: td\n  vcpus: 32\n  memory_gib: 100\n"
         "  image: " + f.volume_dir + "/tdx-guest.qcow2\n"
         "  boot: direct   # the kernel, initrd and command line `tdxctl image build` wrote beside it; firmware: its own bootloader\n"
         "  # config_volume: " + f.volume_dir + "/tdx-config.qcow2\n"
         "  cache_volume: " + f.volume_dir + "/tdx-cache.qcow2\n";
  if (!f.gpus.empty()) out += "  gpus: all-bound   # every NVIDIA GPU/NVSwitch on vfio-pci\n";
  out += "\n# `tdxctl up --attest`: verify a fresh quote from the running TD.\n"
         "# attest:\n#   collateral: /var/cache/tdxctl/collateral/FMSPC\n#   policy: /etc/tdxctl/policy.yaml\n"
         "#   port: " + std::to_string(attest::k_quote_port) + "\n#   timeout: 300\n";
  return out;
}

} // namespace tdx::up
