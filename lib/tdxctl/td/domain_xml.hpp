#pragma once
// The libvirt domain XML of a TD, built as a DOM (libxml2) from the
// templates/td.xml skeleton and a TdSpec, plus its RelaxNG validation and the
// canonical topology digest recorded in the domain metadata and `td status`.

#include "tdxctl/core/error.hpp"
#include "tdxctl/td/boot_files.hpp"
#include "tdxctl/td/spec.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace tdx::td {

inline constexpr const char* metadata_ns = "https://tdxctl.dev/xmlns/td/1";
inline constexpr const char* insecure_banner =
    "INSECURE: --no-tdx development VM, not a trust domain; the host can read its memory "
    "and state. Never give it production secrets.";

struct RenderOptions {
  std::string firmware;            // resolved loader path (spec.firmware or a found default)
  std::string domain_type = "kvm"; // "test" for libvirt's test driver
  std::string config_source;       // host.yaml path, recorded in metadata ("" = flags only)
};

struct RenderedDomain {
  std::string name; // with "-debug" appended under --debug
  std::string xml;
  std::string topology_digest; // "sha384:<hex>"
  std::string policy;          // "0x10000000", empty under --no-tdx
  std::string mr_config_id;    // base64, empty when none
  std::optional<DirectBoot> boot; // td.boot: direct; none under td.boot: firmware
  std::vector<PassthroughDevice> devices; // the hostdevs, in the order rendered
  bool insecure = false;
  bool debug = false;
  // console_log_dir under the Root (set by prepare_domain): `td launch`
  // creates it, since QEMU cannot start with its console log's directory missing.
  std::filesystem::path console_log_dir;
};

// Renders the domain. The mrConfigId defaults to the config volume's
// manifest digest (an error when that manifest is missing or malformed).
// Under td.boot: direct, <os> gets <kernel>, <initrd> and <cmdline> from the
// image's manifest (read_direct_boot's errors) instead of <boot dev='hd'/>.
core::Result<RenderedDomain> render_domain(const TdSpec& spec,
                                           const std::vector<PassthroughDevice>& devices,
                                           const RenderOptions& options);

// <launchSecurity>'s policy: SEPT_VE_DISABLE, plus DEBUG under --debug, as
// libvirt writes it ("0x10000000").
std::string tdx_policy_hex(bool debug);

// The 64-bit MMIO aperture, in MiB, for the passthrough devices:
// gpu_mmio_gib per GPU and 1 GiB per NVSwitch.
long long mmio_aperture_mib(int gpu_mmio_gib, int gpus, int nvswitches);

// SHA-384 over the exclusive C14N of the domain without name, uuid, title,
// description and metadata: what changes it is a change of virtual hardware.
core::Result<std::string> topology_digest(const std::string& xml);

// Validates against a RelaxNG schema (libvirt's domain.rng); the error lists
// each complaint with its line.
core::Result<void> validate_domain_xml(const std::string& xml, const std::filesystem::path& rng);

} // namespace tdx::td
