// TDX enablement: kvm_intel.tdx, the TDX module, TD capacity and SGX (which
// the quote generation service needs). kvm_intel.tdx=Y is the robust signal:
// KVM sets it only after the TDX module initialised, and it survives the
// kernel ring buffer wrapping, which the scripts' `dmesg | grep` does not.
#include "tdxctl/host/check.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sstream>
#include <unistd.h>

namespace tdx::host {

CheckResult check_kvm_tdx(const core::Root& root) {
  const std::string title = "KVM has TDX enabled (kvm_intel.tdx)";
  auto v = root.read_line("/sys/module/kvm_intel/parameters/tdx");
  if (!v) {
    if (!module_loaded(root, "kvm_intel"))
      return make_result("kvm.tdx", title, Status::fail, "kvm_intel not loaded",
                         "load it with TDX enabled: modprobe kvm_intel tdx=1");
    return make_result("kvm.tdx", title, Status::fail, "parameter missing",
                       "this kernel's KVM has no TDX support; install a TDX host kernel");
  }
  if (*v == "Y" || *v == "1") return make_result("kvm.tdx", title, Status::ok, "Y");
  return make_result("kvm.tdx", title, Status::fail, *v,
                     "add kvm_intel.tdx=1 to the kernel command line (or options kvm_intel "
                     "tdx=1 in /etc/modprobe.d) and reboot; check dmesg for 'virt/tdx' errors");
}

// Kernel log records from /dev/kmsg (a plain file in fixture trees).
static std::string read_kmsg(const core::Root& root) {
  int fd = ::open(root.path("/dev/kmsg").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return {};
  std::string all;
  char buf[8192];
  for (int records = 0; records < 100000; ++records) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EPIPE) continue; // record overwritten while reading
    if (n <= 0) break;
    all.append(buf, static_cast<size_t>(n));
    if (all.back() != '\n') all += '\n';
  }
  ::close(fd);
  return all;
}

CheckResult check_tdx_module(const core::Root& root) {
  const std::string title = "TDX module initialised";
  if (auto status = root.read_line("/sys/firmware/tdx/tdx_module/status")) {
    std::string version;
    for (const auto* f : {"major_version", "minor_version"}) {
      if (auto p = root.read_line(std::string("/sys/firmware/tdx/tdx_module/") + f))
        version += (version.empty() ? "" : ".") + *p;
    }
    std::string observed = *status + (version.empty() ? "" : " (version " + version + ")");
    if (*status == "initialized")
      return make_result("tdx.module", title, Status::ok, observed);
    return make_result("tdx.module", title, Status::fail, observed,
                       "update the TDX module (BIOS update or /lib/firmware/intel-seam) and reboot");
  }
  auto log = read_kmsg(root);
  std::istringstream in(log);
  std::string line, found;
  bool failed = false;
  while (std::getline(in, line)) {
    auto semi = line.find(';');
    auto msg = semi == std::string::npos ? line : line.substr(semi + 1);
    if (msg.find("tdx") == std::string::npos && msg.find("TDX") == std::string::npos) continue;
    if (msg.find("module initialized") != std::string::npos ||
        msg.find("TDX module initialized") != std::string::npos) {
      found = core::trim(msg);
      failed = false;
    } else if (msg.find("initialization failed") != std::string::npos) {
      found = core::trim(msg);
      failed = true;
    }
  }
  if (!found.empty())
    return failed ? make_result("tdx.module", title, Status::fail, found,
                                "the TDX module failed to initialise (often too old a module, "
                                "error -5): update the BIOS / TDX module and reboot")
                  : make_result("tdx.module", title, Status::ok, found);
  auto tdx = root.read_line("/sys/module/kvm_intel/parameters/tdx");
  if (tdx && *tdx == "Y")
    return make_result("tdx.module", title, Status::ok, "implied by kvm_intel.tdx=Y");
  return make_result("tdx.module", title, Status::fail, "no evidence in sysfs or the kernel log",
                     "check 'dmesg | grep -i tdx' for 'virt/tdx: module initialized'");
}

// "tdx 31" from the misc cgroup files (one "name value" pair per line).
static std::optional<long> misc_value(const core::Root& root, const char* file) {
  auto text = root.read(std::string("/sys/fs/cgroup/") + file);
  if (!text) return std::nullopt;
  std::istringstream in(*text);
  std::string key;
  long value = 0;
  while (in >> key >> value)
    if (key == "tdx") return value;
  return std::nullopt;
}

CheckResult check_td_capacity(const core::Root& root) {
  const std::string title = "TD capacity (misc cgroup 'tdx')";
  auto capacity = misc_value(root, "misc.capacity");
  if (!capacity)
    return make_result("td.capacity", title, Status::warn, "not reported",
                       "this kernel does not expose TD keys in /sys/fs/cgroup/misc.capacity; "
                       "the number of concurrent TDs is unknown",
                       false);
  long used = misc_value(root, "misc.current").value_or(0);
  std::string observed = std::to_string(used) + " of " + std::to_string(*capacity) + " in use";
  if (*capacity == 0)
    return make_result("td.capacity", title, Status::fail, observed,
                       "no TDX private keys are available: check the BIOS TME-MT/TDX key split");
  if (used >= *capacity)
    return make_result("td.capacity", title, Status::fail, observed,
                       "every TD slot is taken: stop a TD before launching another");
  return make_result("td.capacity", title, Status::ok, observed);
}

CheckResult check_sgx(const core::Root& root) {
  const std::string title = "SGX for the quoting enclave";
  bool enclave = root.exists("/dev/sgx_enclave");
  bool provision = root.exists("/dev/sgx_provision");
  if (enclave && provision)
    return make_result("sgx.devices", title, Status::ok, "/dev/sgx_enclave, /dev/sgx_provision", {},
                       false);
  return make_result("sgx.devices", title, Status::warn,
                     std::string(enclave ? "" : "/dev/sgx_enclave missing ") +
                         (provision ? "" : "/dev/sgx_provision missing"),
                     "enable SGX in the BIOS: the TD quoting enclave (QGS) needs it for attestation",
                     false);
}

} // namespace tdx::host
