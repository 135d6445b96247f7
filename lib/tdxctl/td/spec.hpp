#pragma once
// What a TD is made of, before it becomes domain XML: the `td:` section of
// host.yaml, overridden by command-line flags. Loading validates every key
// with file:line:col errors; resolving turns "all-bound" and short BDFs into
// the sorted device list the renderer needs, reading sysfs under the Root.

#include "tdxctl/core/error.hpp"
#include "tdxctl/core/root.hpp"
#include "tdxctl/net/network_spec.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tdx::config {
class Section;
}

namespace tdx::td {

// direct: TDVF boots the kernel, initrd and command line named in the image's
// manifest (what TDX measurement tooling predicts); firmware: TDVF boots the
// image's own bootloader from the disk.
enum class BootMode { direct, firmware };
const char* boot_mode_name(BootMode mode);
std::optional<BootMode> parse_boot_mode(std::string_view text);

struct NetSpec {
  net::Mode mode = net::Mode::none;
  std::string source;                    // bridge name, or the macvtap lower device
  std::string mac = "52:54:00:12:34:56"; // the address today's guests and DHCP reservations know
};

inline constexpr const char* default_qgs_socket = "/var/run/tdx-qgs/qgs.socket";
// TDX attribute SEPT_VE_DISABLE (bit 28): QEMU's and libvirt's default policy.
inline constexpr uint64_t policy_sept_ve_disable = 0x10000000;
inline constexpr uint64_t policy_debug = 0x1;

struct TdSpec {
  std::string name = "td";
  int vcpus = 32;
  int memory_gib = 100;
  std::string image = "/var/lib/libvirt/images/tdx-guest.qcow2";
  std::string config_volume;     // empty: none
  std::string cache_volume;      // empty: none
  std::string containerd_volume; // empty: none
  std::vector<std::string> gpus;       // BDFs, or the single entry "all-bound"
  std::vector<std::string> nvswitches; // BDFs (with "all-bound" in gpus: found too)
  NetSpec net;
  std::string firmware; // empty: the first TDVF found among the usual paths
  BootMode boot = BootMode::direct;
  // For `image measure -c`: the RTMR0 inputs a TD of this shape showed,
  // captured once per topology (td.measure.platform from `tdxctl-guest
  // measure platform`, or td.measure.acpi_tables from `... measure acpi`).
  std::string measure_platform, measure_acpi_tables;
  std::string qgs_socket = default_qgs_socket; // empty: no quoteGenerationService
  std::optional<std::string> mr_config_id;     // base64 of 48 bytes; default from the manifest
  std::optional<std::string> mr_owner;         // base64 of 48 bytes
  std::optional<std::string> mr_owner_config;  // base64 of 48 bytes
  int vsock_cid = 3;          // guests expect CID 3; the host QGS listens on CID 2 port 4050
  int gpu_mmio_gib = 256;     // 64-bit MMIO aperture per GPU (H100/H200 BAR1 + headroom)
  bool debug = false;         // sets the DEBUG attribute: never for production
  bool no_tdx = false;        // plain VM: development only, insecure
};

// The per-key part of host.yaml's `td:` section, on a section of the document
// up::load_host_file read (errors go to its reader). network_from_top: the
// file has a top-level `network:` section (the one `net up` and `up` build
// from); the TD's NIC is then attached to what it describes
// (attach_to_network) and td.network may only set `mac`. Without it, the
// older td.network.{bridge,macvtap} keys still work.
void read_td_section(config::Section& td, TdSpec& spec, bool network_from_top);
// Relative image, volume, firmware and capture paths taken as relative to `base_dir` (the
// directory of the host.yaml they came from), so a file and the disks it
// names move together.
void make_paths_absolute(TdSpec& spec, const std::filesystem::path& base_dir);
// Attaches the TD's NIC to the network `net up` builds from `network`.
void attach_to_network(TdSpec& spec, const net::NetRequest& network);

// A domain name also names files (the console log): letters, digits, '_',
// '.' and '-', at most 63, not starting with '.' or '-'.
inline constexpr const char* domain_name_rule = "expected letters, digits, '_', '.' or '-' (at most 63)";
bool valid_domain_name(std::string_view name);

// Command-line values laid over host.yaml's td: section (or the embedded
// defaults). Empty strings, empty lists, zeros and false mean "not given".
struct SpecOverrides {
  std::string name, image, config_volume, cache_volume, containerd_volume, firmware;
  std::string boot; // direct | firmware (CLI11 checks the value)
  std::vector<std::string> gpus, nvswitches;
  std::string bridge, macvtap, mac, qgs_socket;
  bool no_qgs = false;
  std::string mr_config_id, mr_owner, mr_owner_config; // hex or base64
  int vcpus = 0, memory_gib = 0, vsock_cid = 0;
  bool debug = false, no_tdx = false;
};
// `base` with the flags laid over it; a path flag is made absolute against
// the working directory. Throws Failure(invalid_input) for a bad flag value.
TdSpec make_spec(const SpecOverrides& overrides, TdSpec base = {});

// Accepts 96 hex digits (a SHA-384) or base64 of 48 bytes; returns base64.
core::Result<std::string> parse_measurement(const std::string& text, const std::string& what);

// The `PATH.sha384` manifest beside a config volume ("<96 hex>  <name>").
std::filesystem::path manifest_path(const std::string& config_volume);
core::Result<std::string> read_manifest_digest_hex(const std::string& config_volume);

struct PassthroughDevice {
  std::string address; // full BDF, lower case
  bool nvswitch = false;
};

// GPUs first, then NVSwitches, each sorted by address: the device order that
// fixes the PCIe topology. "all-bound" picks every NVIDIA GPU (class 0300/0302)
// and NVSwitch (0680) bound to vfio-pci.
core::Result<std::vector<PassthroughDevice>> resolve_devices(const core::Root& root,
                                                            const TdSpec& spec);

} // namespace tdx::td
