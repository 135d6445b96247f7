// Device plumbing checks: QGS socket, IOMMU, iommufd, vfio-pci, vhost-vsock,
// the TDVF firmware and the NVIDIA GPUs. None of today's scripts check IOMMU
// or vsock (EXISTING-SCRIPTS §1.3), and bind.sh silently skipped devices
// without an IOMMU group; here each is a named failure with a fix.
#include "tdxctl/host/check.hpp"

#include "tdxctl/sysfs/pci.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace tdx::host {

std::vector<std::string> default_firmware_paths() {
  return {"/usr/share/ovmf/OVMF.inteltdx.fd", "/usr/share/qemu/OVMF.inteltdx.fd",
          "/usr/share/edk2/ovmf/OVMF.inteltdx.fd", "/usr/share/tdx/TDVF.fd"};
}

// "" when a stream connection to the UNIX socket `path` succeeds, else why not.
static std::string qgs_connect_error(const std::filesystem::path& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.native().size() >= sizeof addr.sun_path)
    return "path longer than a UNIX socket address allows";
  std::memcpy(addr.sun_path, path.c_str(), path.native().size());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::strerror(errno);
  int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  int err = errno;
  ::close(fd);
  return rc == 0 ? std::string() : std::strerror(err);
}

CheckResult check_qgs(const core::Root& root, const CheckOptions& options) {
  const std::string title = "Quote generation service socket";
  bool required = options.require_attestation;
  struct stat st {};
  if (::stat(root.path(options.qgs_socket).c_str(), &st) != 0)
    return make_result("qgs.socket", title, required ? Status::fail : Status::warn,
                       options.qgs_socket + " missing",
                       "install and start the QGS (tdx-qgs / qgsd): TDs cannot produce quotes "
                       "without it",
                       required);
  if (!S_ISSOCK(st.st_mode))
    return make_result("qgs.socket", title, required ? Status::fail : Status::warn,
                       options.qgs_socket + " is not a socket",
                       "something else occupies the QGS socket path; restart qgsd", required);
  // A socket file outlives the qgsd that bound it: only a connection shows
  // that a QGS is there to serve the TD's quote requests.
  if (auto refused = qgs_connect_error(root.path(options.qgs_socket)); !refused.empty())
    return make_result("qgs.socket", title, required ? Status::fail : Status::warn,
                       options.qgs_socket + " does not accept connections (" + refused + ")",
                       "start the QGS (systemctl start qgsd): the socket is left from a QGS "
                       "that is no longer running",
                       required);
  return make_result("qgs.socket", title, Status::ok, options.qgs_socket + " (accepts connections)",
                     {}, required);
}

CheckResult check_iommu(const core::Root& root) {
  const std::string title = "IOMMU enabled (groups present)";
  auto cmdline = root.read_line("/proc/cmdline").value_or("");
  bool on_cmdline = cmdline.find("intel_iommu=on") != std::string::npos;
  if (sysfs::iommu_groups_present(root))
    return make_result("iommu.groups", title, Status::ok,
                       std::string("groups present") + (on_cmdline ? ", intel_iommu=on" : ""));
  return make_result("iommu.groups", title, Status::fail,
                     std::string("no IOMMU groups") +
                         (on_cmdline ? " (intel_iommu=on is set)" : ""),
                     "enable VT-d in the BIOS and add intel_iommu=on iommu=pt to the kernel "
                     "command line; GPUs cannot be passed through without it");
}

CheckResult check_iommufd(const core::Root& root) {
  const std::string title = "iommufd (/dev/iommu)";
  if (root.exists("/dev/iommu")) return make_result("iommu.iommufd", title, Status::ok, "present", {}, false);
  return make_result("iommu.iommufd", title, Status::warn, "missing",
                     "modprobe iommufd; QEMU's TDX GPU passthrough uses -object iommufd", false);
}

CheckResult check_vfio(const core::Root& root, bool gpus_present) {
  const std::string title = "vfio-pci driver available";
  if (module_loaded(root, "vfio_pci"))
    return make_result("vfio.module", title, Status::ok, "loaded", {}, gpus_present);
  if (module_available(root, "vfio_pci"))
    return make_result("vfio.module", title, Status::ok, "available (not loaded)", {}, gpus_present);
  return make_result("vfio.module", title, gpus_present ? Status::fail : Status::warn,
                     "not found",
                     "install the kernel's extra modules (vfio-pci) to pass GPUs through",
                     gpus_present);
}

CheckResult check_vsock(const core::Root& root) {
  const std::string title = "vhost-vsock (host<->TD channel)";
  if (root.exists("/dev/vhost-vsock") || module_loaded(root, "vhost_vsock"))
    return make_result("vsock.vhost", title, Status::ok, "present", {}, false);
  return make_result("vsock.vhost", title, Status::warn, "missing",
                     "modprobe vhost_vsock: tdxctl quote fetch --td and QGS-over-vsock need it",
                     false);
}

CheckResult check_firmware(const core::Root& root, const CheckOptions& options) {
  const std::string title = "TDVF firmware";
  auto paths = options.firmware.empty() ? default_firmware_paths() : options.firmware;
  for (const auto& p : paths)
    if (root.exists(p)) return make_result("firmware.tdvf", title, Status::ok, p);
  std::string tried;
  for (const auto& p : paths) tried += (tried.empty() ? "" : ", ") + p;
  return make_result("firmware.tdvf", title, Status::fail, "not found (tried " + tried + ")",
                     "install the TDX OVMF build (Ubuntu: ovmf, OVMF.inteltdx.fd) or pass "
                     "--firmware PATH");
}

std::vector<CheckResult> check_gpus(const core::Root& root) {
  std::vector<CheckResult> out;
  bool groups = sysfs::iommu_groups_present(root);
  for (const auto& d : sysfs::scan_pci(root)) {
    if (d.vendor != 0x10de) continue;
    auto cls = d.class_prefix();
    bool gpu = cls == 0x0300 || cls == 0x0302;
    bool nvswitch = cls == 0x0680;
    if (!gpu && !nvswitch) continue;
    char ids[32];
    std::snprintf(ids, sizeof ids, "10de:%04x", d.device);
    std::string kind = gpu ? "GPU" : "NVSwitch";
    std::string observed = std::string(ids) + " driver=" + (d.driver.empty() ? "none" : d.driver);
    std::string title = "NVIDIA " + kind + " " + d.address;
    if (!d.iommu_group) {
      out.push_back(make_result("gpu." + d.address, title, Status::fail,
                                observed + ", no IOMMU group",
                                groups ? "this device is not in an IOMMU group: check ACS/PCIe "
                                         "topology"
                                       : "enable the IOMMU (intel_iommu=on): without IOMMU "
                                         "groups the device cannot be passed to a TD"));
      continue;
    }
    observed += ", iommu group " + std::to_string(*d.iommu_group);
    if (d.driver == "vfio-pci")
      out.push_back(make_result("gpu." + d.address, title, Status::ok, observed + " (ready)"));
    else
      out.push_back(make_result("gpu." + d.address, title, Status::warn, observed,
                                "bind it for passthrough: tdxctl gpu bind " + d.address, false));
  }
  if (out.empty())
    out.push_back(make_result("gpu.present", "NVIDIA GPUs", Status::warn, "none found",
                              "TDs will run without GPUs", false));
  return out;
}

} // namespace tdx::host
