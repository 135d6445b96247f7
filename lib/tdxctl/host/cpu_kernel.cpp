// CPU, kernel, /dev/kvm and memory checks, and the small readers the other
// check families share. TDX needs a 5th-generation Xeon (Emerald Rapids) or
// later for the production TDX module; Sapphire Rapids had it on a few SKUs.
#include "tdxctl/host/check.hpp"

#include <sstream>

namespace tdx::host {

std::optional<std::string> cpuinfo_value(const core::Root& root, const std::string& key) {
  auto text = root.read("/proc/cpuinfo");
  if (!text) return std::nullopt;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    if (core::trim(line.substr(0, colon)) == key) return core::trim(line.substr(colon + 1));
  }
  return std::nullopt;
}

static bool has_flag(const std::string& flags, const std::string& flag) {
  std::istringstream in(flags);
  std::string f;
  while (in >> f)
    if (f == flag) return true;
  return false;
}

bool module_loaded(const core::Root& root, const std::string& name) {
  return root.exists("/sys/module/" + name);
}

bool module_available(const core::Root& root, const std::string& name) {
  if (module_loaded(root, name)) return true;
  auto release = root.read_line("/proc/sys/kernel/osrelease");
  if (!release) return false;
  std::string base = "/lib/modules/" + *release;
  std::string alt = name;
  for (auto& c : alt)
    if (c == '_') c = '-';
  for (const auto* list : {"/modules.builtin", "/modules.dep"}) {
    auto text = root.read(base + list);
    if (!text) continue;
    if (text->find("/" + name + ".ko") != std::string::npos ||
        text->find("/" + alt + ".ko") != std::string::npos)
      return true;
  }
  return false;
}

CheckResult check_cpu_tdx(const core::Root& root) {
  const std::string title = "CPU advertises TDX (tdx_host_platform)";
  auto flags = cpuinfo_value(root, "flags");
  if (!flags)
    return make_result("cpu.tdx", title, Status::fail, "/proc/cpuinfo unreadable",
                       "run on the host itself (or point --root at a capture with proc/cpuinfo)");
  if (has_flag(*flags, "tdx_host_platform"))
    return make_result("cpu.tdx", title, Status::ok, "tdx_host_platform");
  if (has_flag(*flags, "tdx_guest"))
    return make_result("cpu.tdx", title, Status::fail, "tdx_guest: this machine is a TD guest",
                       "run tdxctl host check on the TDX host, not inside a TD");
  return make_result("cpu.tdx", title, Status::fail, "flag absent",
                     "enable TME, TME-MT (multi-key), TDX and the SEAM loader in the BIOS, and "
                     "boot a TDX-enabled host kernel");
}

CheckResult check_cpu_generation(const core::Root& root) {
  const std::string title = "CPU generation (5th-gen Xeon or later)";
  auto vendor = cpuinfo_value(root, "vendor_id").value_or("?");
  auto family = cpuinfo_value(root, "cpu family").value_or("?");
  auto model_s = cpuinfo_value(root, "model").value_or("?");
  auto name = cpuinfo_value(root, "model name").value_or("");
  std::string observed = vendor + " family " + family + " model " + model_s +
                         (name.empty() ? "" : " (" + name + ")");
  if (vendor != "GenuineIntel")
    return make_result("cpu.generation", title, Status::fail, observed,
                       "TDX exists only on Intel Xeon processors");
  int model = -1;
  try {
    model = std::stoi(model_s);
  } catch (const std::exception&) {
  }
  if (family != "6")
    return make_result("cpu.generation", title, Status::warn, observed,
                       "unknown Intel family; check Intel's TDX-capable processor list", false);
  switch (model) {
  case 207: return make_result("cpu.generation", title, Status::ok, observed + ": Emerald Rapids");
  case 173:
  case 174: return make_result("cpu.generation", title, Status::ok, observed + ": Granite Rapids");
  case 175: return make_result("cpu.generation", title, Status::ok, observed + ": Sierra Forest");
  case 221: return make_result("cpu.generation", title, Status::ok, observed + ": Clearwater Forest");
  case 143:
    return make_result("cpu.generation", title, Status::warn, observed + ": Sapphire Rapids",
                       "4th-gen Xeon supports TDX only on select SKUs with an early TDX module; "
                       "use 5th-gen Xeon or later for production TDs",
                       false);
  default:
    return make_result("cpu.generation", title, Status::fail, observed,
                       "this CPU model is not known to support TDX; 5th-gen Xeon (model 207) or "
                       "later is required");
  }
}

CheckResult check_kernel(const core::Root& root) {
  const std::string title = "Host kernel with KVM TDX support";
  auto release = root.read_line("/proc/sys/kernel/osrelease");
  if (!release)
    return make_result("kernel.version", title, Status::warn, "unknown",
                       "cannot read /proc/sys/kernel/osrelease", false);
  int major = 0, minor = 0;
  std::sscanf(release->c_str(), "%d.%d", &major, &minor);
  if (major > 6 || (major == 6 && minor >= 16))
    return make_result("kernel.version", title, Status::ok, *release + " (upstream TDX host support)",
                       {}, false);
  if (release->find("intel") != std::string::npos)
    return make_result("kernel.version", title, Status::ok, *release + " (vendor TDX kernel)", {},
                       false);
  return make_result("kernel.version", title, Status::warn, *release,
                     "KVM gained TDX host support in Linux 6.16; older kernels need a vendor TDX "
                     "kernel (e.g. Ubuntu's linux-image-intel)",
                     false);
}

CheckResult check_kvm_device(const core::Root& root) {
  const std::string title = "KVM device /dev/kvm";
  if (root.exists("/dev/kvm")) return make_result("kvm.device", title, Status::ok, "present");
  return make_result("kvm.device", title, Status::fail, "missing",
                     "enable VT-x in the BIOS and load kvm_intel (modprobe kvm_intel)");
}

CheckResult check_memory(const core::Root& root) {
  const std::string title = "Host memory";
  auto text = root.read("/proc/meminfo");
  if (!text) return make_result("host.memory", title, Status::skip, "/proc/meminfo unreadable", {}, false);
  std::istringstream in(*text);
  std::string key;
  unsigned long long kib = 0;
  std::string unit;
  while (in >> key >> kib >> unit)
    if (key == "MemTotal:") break;
  double gib = static_cast<double>(kib) / (1024.0 * 1024.0);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f GiB total", gib);
  if (gib < 16)
    return make_result("host.memory", title, Status::warn, buf,
                       "a GPU TD typically needs 100 GiB or more of host memory", false);
  return make_result("host.memory", title, Status::ok, buf, {}, false);
}

} // namespace tdx::host
