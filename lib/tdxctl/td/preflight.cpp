// Refusals before `td launch` defines anything. The scripts this replaces
// started QEMU regardless and ignored its exit code; here every precondition
// the TD depends on is checked first, with the exact path or BDF at fault and
// what to run about it: host readiness and libvirt TDX support, GPUs on
// vfio-pci, image and volumes present, the config volume matching the
// manifest its mrConfigId is derived from, the direct-boot kernel, initrd and
// command line matching the image's manifest, firmware, and the QGS socket.
#include "tdxctl/td/lifecycle.hpp"

#include "tdxctl/libvirt/api.hpp"
#include "tdxctl/td/console_log.hpp"
#include "tdxctl/volume/inspect.hpp"

#include "tdxctl/core/unique_fd.hpp"
#include "tdxctl/host/check.hpp"
#include "tdxctl/sysfs/pci.hpp"
#include "tdxctl/td/boot_files.hpp"

#include <cstdlib>
#include <fcntl.h>
#include <sys/stat.h>

namespace tdx::td {

using core::Category;
using core::fail;

std::string resolve_firmware(const core::Root& root, const TdSpec& spec) {
  if (!spec.firmware.empty()) return spec.firmware;
  auto paths = host::default_firmware_paths();
  for (const auto& p : paths)
    if (root.exists(p)) return p;
  return paths.front();
}

core::Result<RenderedDomain> prepare_domain(const core::Root& root, const TdSpec& spec,
                                            const std::string& domain_type,
                                            const std::string& config_source) {
  auto devices = resolve_devices(root, spec);
  if (!devices) return std::unexpected(devices.error());
  auto d = render_domain(spec, *devices,
                         RenderOptions{resolve_firmware(root, spec), domain_type,
                                       config_source.empty()
                                           ? std::string()
                                           : std::filesystem::absolute(config_source).string()});
  if (d) d->console_log_dir = root.path(console_log_dir);
  return d;
}

core::Result<std::string> sha384_file(const std::string& path) {
  core::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail(Category::not_ready, "td.volume_unreadable", "cannot read " + path);
  return sha384_of_fd(fd.get(), path);
}

static bool path_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

core::Result<void> preflight(const core::Root& root, core::ProcessRunner& probe, const TdSpec& spec,
                             const LaunchChecks& checks) {
  if (checks.require_attestation && spec.no_tdx)
    return fail(Category::usage, "td.contradiction",
                "--require-attestation and --no-tdx contradict each other: a plain VM cannot "
                "produce TDX quotes");
  if (checks.require_attestation && spec.qgs_socket.empty())
    return fail(Category::not_ready, "td.qgs_missing",
                "--require-attestation needs a quote generation service, but none is configured "
                "(qgs_socket: none)",
                "set td.qgs_socket or pass --qgs-socket PATH");

  if (!spec.no_tdx && checks.host_check) {
    host::CheckOptions options;
    options.qgs_socket = spec.qgs_socket.empty() ? default_qgs_socket : spec.qgs_socket;
    options.require_attestation = checks.require_attestation;
    options.firmware = {resolve_firmware(root, spec)};
    // Domain capabilities need a read-write connection (libvirt's ACL puts
    // them under connect:write), so ask through our own Connection rather
    // than host::probe_libvirt's read-only one.
    auto conn = Connection::open(checks.connect_uri);
    host::LibvirtInfo lv;
    lv.reachable = true;
    lv.uri = checks.connect_uri;
    unsigned long version = 0;
    if (libvirt::api().virConnectGetLibVersion(conn->get(), &version) == 0)
      lv.libvirt_version = std::to_string(version / 1000000) + "." +
                           std::to_string(version / 1000 % 1000) + "." +
                           std::to_string(version % 1000);
    char* caps = libvirt::api().virConnectGetDomainCapabilities(conn->get(), nullptr, "x86_64", "q35", "kvm", 0);
    if (caps) {
      lv.tdx_supported = host::domain_caps_support_tdx(caps);
      std::free(caps);
    } else {
      lv.caps_error = libvirt_error();
    }
    if (!lv.tdx_supported)
      return fail(Category::not_ready, "td.libvirt_no_tdx",
                  "libvirt " + lv.libvirt_version + " at " + checks.connect_uri +
                      " cannot run TDX: " +
                      (lv.caps_error.empty() ? std::string("its domain capabilities do not list tdx")
                                             : "no domain capabilities (" + lv.caps_error + ")"),
                  "install libvirt >= 11.6 and QEMU >= 10.1 with TDX, or use --no-tdx for an "
                  "insecure development VM");
    options.libvirt = lv;
    auto report = host::run_host_checks(root, options);
    if (!report.ready()) {
      std::string failed;
      for (const auto& c : report.checks)
        if (c.required && c.status == host::Status::fail)
          failed += "\n  " + c.id + ": " + c.observed + (c.hint.empty() ? "" : " (" + c.hint + ")");
      return fail(Category::not_ready, "td.host_not_ready",
                  "host is not ready for TDs; failed checks:" + failed,
                  "see `tdxctl host check`");
    }
  }

  if (checks.require_attestation && !root.exists(spec.qgs_socket))
    return fail(Category::not_ready, "td.qgs_missing",
                "quote generation service socket " + spec.qgs_socket +
                    " is missing and --require-attestation is set",
                "install and start the QGS (tdx-qgs), or launch without --require-attestation");

  auto devices = resolve_devices(root, spec);
  if (!devices) return std::unexpected(devices.error());
  for (const auto& d : *devices) {
    const char* what = d.nvswitch ? "NVSwitch" : "GPU";
    auto dev = sysfs::read_pci_device(root, d.address);
    if (!dev)
      return fail(Category::not_ready, "td.device_missing",
                  std::string(what) + " " + d.address + " does not exist on this host",
                  "check the address with `tdxctl gpu list`");
    if (dev->driver != "vfio-pci")
      return fail(Category::not_ready, "td.device_not_bound",
                  std::string(what) + " " + d.address + " is bound to " +
                      (dev->driver.empty() ? std::string("no driver") : "'" + dev->driver + "'") +
                      ", not vfio-pci",
                  "run `tdxctl gpu bind " + d.address + "` first");
    // VFIO hands over whole IOMMU groups: every non-bridge member must be
    // on vfio-pci too, or QEMU fails with "group is not viable".
    if (dev->iommu_group)
      for (const auto& member : sysfs::iommu_group_members(root, *dev->iommu_group)) {
        auto m = sysfs::read_pci_device(root, member);
        if (!m || m->is_bridge() || m->driver == "vfio-pci" || m->driver.empty()) continue;
        return fail(Category::not_ready, "td.group_not_viable",
                    std::string(what) + " " + d.address + " shares IOMMU group " +
                        std::to_string(*dev->iommu_group) + " with " + member +
                        ", which is bound to '" + m->driver + "'",
                    "run `tdxctl gpu bind " + d.address + "` (it binds the whole group)");
      }
  }

  struct Vol {
    const char* key;
    const std::string& path;
  };
  for (const Vol& v : {Vol{"image", spec.image}, Vol{"config_volume", spec.config_volume},
                       Vol{"cache_volume", spec.cache_volume},
                       Vol{"containerd_volume", spec.containerd_volume}}) {
    if (v.path.empty()) continue;
    if (!path_exists(v.path)) {
      std::string key = v.key;
      std::string hint = key == "image"               ? "build it with `tdxctl image build`"
                         : key == "config_volume"     ? "create it with `tdxctl volume config create`"
                         : key == "containerd_volume" ? "create it with `tdxctl volume cache create --kind containerd`"
                                                      : "create it with `tdxctl volume cache create`";
      return fail(Category::not_ready, "td.volume_missing",
                  "td." + key + ": " + v.path + " does not exist", hint);
    }
  }
  if (!spec.config_volume.empty() && std::filesystem::exists(manifest_path(spec.config_volume))) {
    auto want = read_manifest_digest_hex(spec.config_volume);
    if (!want) return std::unexpected(want.error());
    auto have = sha384_file(spec.config_volume);
    if (!have) return std::unexpected(have.error());
    // `tdxctl volume config create` records the SHA-384 of the volume's
    // content manifest (what MRCONFIGID binds; qcow2 bytes are not
    // reproducible), not of the file: read the content back to compare.
    // Not being able to read it is a different failure from a mismatch, and
    // says so.
    if (*want != *have) {
      std::optional<volume::VolumeReport> report;
      try {
        report = volume::inspect_volume(probe, spec.config_volume);
      } catch (const core::Failure& e) {
        // The appliance not starting says nothing about the volume.
        if (e.error().code.starts_with("image.guestfs.launch") || e.error().code == "image.guestfs.create")
          return fail(e.error().category, "td.volume_unreadable",
                      "could not read config volume " + spec.config_volume +
                          " to compare it with its manifest: " + e.error().message,
                      e.error().hint);
        return fail(Category::not_ready, "td.volume_mismatch",
                    "config volume " + spec.config_volume + " no longer reads as a tdx-config volume (" +
                        e.error().message + "); its manifest " + manifest_path(spec.config_volume).string() +
                        " says " + *want,
                    "recreate both with `tdxctl volume config create --force`");
      }
      if (!report->digest)
        return fail(Category::not_ready, "td.volume_mismatch",
                    "config volume " + spec.config_volume + " is no longer a tdx-config volume (filesystem " +
                        (report->fs_type.empty() ? "none" : report->fs_type) + ", label '" +
                        report->label + "'); its manifest " + manifest_path(spec.config_volume).string() +
                        " says " + *want,
                    "recreate both with `tdxctl volume config create --force`");
      have = *report->digest;
    }
    if (*want != *have)
      return fail(Category::not_ready, "td.volume_mismatch",
                  "config volume " + spec.config_volume + " does not match its manifest " +
                      manifest_path(spec.config_volume).string() + ": content SHA-384 is " + *have +
                      ", manifest says " + *want,
                  "the volume's content changed after its manifest was written; recreate both with "
                  "`tdxctl volume config create --force`, or attach the volume the manifest describes");
  }
  // Direct boot: what QEMU will load must still be what the image build
  // recorded (and what the policy's RTMR1/RTMR2 were predicted from).
  if (spec.boot == BootMode::direct) {
    auto boot = read_direct_boot(spec.image);
    if (!boot) return std::unexpected(boot.error());
    TDX_TRY(verify_direct_boot(*boot));
  }
  std::string firmware = resolve_firmware(root, spec);
  if (!root.exists(firmware))
    return fail(Category::not_ready, "td.firmware_missing",
                "firmware " + firmware + " does not exist",
                "install TDVF (ovmf with OVMF.inteltdx.fd) or pass --firmware PATH");
  return {};
}

} // namespace tdx::td
