#pragma once
// host.yaml as one model, and the one loader of it: every command that reads
// the file (up, down, config check, td, image measure, net up, volume config
// create) reads it here, in ONE YamlReader pass, and each section is handed
// to the reader its command group already has (config -> volume, network ->
// net, td -> td, attest -> quote policy). So an unknown key anywhere, a bad
// value and a failed cross-check (VM address outside the bridge subnet,
// overlapping forwards, two volumes on one path, ...) are the same errors
// whichever command reads the file, all reported together, each with
// file:line:col and the dotted key. The groups receive their own section
// (file.td, file.network, file.config) and never open the file themselves.
//
// Relative paths in the file (images, volumes, seed file, policy,
// collateral, the GPU admin tool) are made absolute once, here, against the
// directory holding host.yaml, so a host.yaml and the files it names can be
// moved together.

#include "tdxctl/attest/fresh_quote.hpp"
#include "tdxctl/core/output.hpp"
#include "tdxctl/host/check.hpp"
#include "tdxctl/net/network_spec.hpp"
#include "tdxctl/td/spec.hpp"
#include "tdxctl/volume/config_values.hpp"
#include "tdxctl/volume/volume_file.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace tdx::up {

inline constexpr const char* default_host_yaml = "/etc/tdxctl/host.yaml";

// gpu.mode: the confidential mode the devices are switched to after binding.
// ppcie: protected PCIe (HGX boards, GPUs with NVSwitches); cc: CC mode per
// GPU (no NVSwitch); off: neither. Absent: the modes are left as they are.
enum class GpuMode { ppcie, cc, off };
const char* gpu_mode_name(GpuMode mode);

// `gpu:`: which devices go to vfio-pci before the TD starts, and their mode.
struct GpuConfig {
  std::vector<std::string> devices; // full BDFs; empty with all=true
  bool all = false;                 // devices: all
  bool persist = false;             // also keep the binding across reboots
  // gpu.mode; the older `ppcie: true|false` is still read (true = ppcie,
  // false = absent), and giving both is an error.
  std::optional<GpuMode> mode;
  std::string admin_tool;           // nvidia_gpu_tools.py (or its directory)
};

// `volumes:`: how the volumes named in td: are created when absent.
struct VolumesConfig {
  volume::VolumeFormat format = volume::VolumeFormat::qcow2;
  std::string cache_size;      // empty: 5000G
  std::string containerd_size; // empty: 500G
};

// `attest:`: how `up --attest` fetches and verifies a fresh quote.
struct AttestConfig {
  // collateral (required), policy, accept, allow_debug, at (replaying
  // recorded collateral) and trust_root (tests), as `quote verify` takes them.
  quote::VerifySettings verify;
  uint32_t port = attest::k_quote_port;          // the guest's `quote serve --vsock` port
  std::string unix_socket;       // instead: a UNIX socket (local use, tests)
  int timeout_s = 300;           // how long to wait for the endpoint
};

// Which command reads the file: what it cannot do without is checked in the
// same pass as everything else.
enum class HostFileUse {
  host_flow,     // up, down, config check: td: is required
  td,            // td xml/render/launch/status, image measure: td: is required, and a
                 // macvtap network: names its public_interface
  network,       // net up: nothing is required
  config_volume, // volume config create: config: is required
};

struct HostFile {
  std::filesystem::path path;
  bool require_attestation = false; // host.require_attestation
  std::optional<GpuConfig> gpu;
  std::optional<volume::ConfigInput> config; // present: create the config volume
  VolumesConfig volumes;
  std::optional<net::NetRequest> network;
  td::TdSpec td; // the defaults when the file has no td: (for uses that need none)
  std::optional<AttestConfig> attest;

  // What the file asks for, for `config check` and the JSON documents.
  core::Json summary() const;
  void print_summary(std::ostream& out) const;
};

// Throws Failure(invalid_input, exit 2) listing every problem as
// file:line:col: key 'a.b': message.
HostFile load_host_file(const std::filesystem::path& path,
                        HostFileUse use = HostFileUse::host_flow);
HostFile parse_host_file(std::string_view text, const std::string& name,
                         const std::filesystem::path& base_dir,
                         HostFileUse use = HostFileUse::host_flow);

// The TD a `td` or `image measure` command describes: the flags laid over
// `config`'s td: section, or over the embedded defaults when `config` is empty.
td::TdSpec load_td_spec(const std::filesystem::path& config, const td::SpecOverrides& flags = {});

} // namespace tdx::up
