#pragma once
// The tdx-config volume: an ext4 filesystem labelled tdx-config holding
// /hostname, /miner-ss58, /miner-seed and /network-config.yaml in the exact
// layout today's guests parse (EXISTING-SCRIPTS.md §4.2), and the SHA-384
// digest of its content manifest (PATH.sha384) that `td launch` binds into
// MRCONFIGID.

#include "tdxctl/core/config_manifest.hpp"
#include "tdxctl/core/fs.hpp"
#include "tdxctl/core/plan.hpp"
#include "tdxctl/core/runner.hpp"
#include "tdxctl/volume/config_values.hpp"
#include "tdxctl/volume/volume_file.hpp"

#include <string>
#include <sys/types.h>
#include <vector>

namespace tdx::volume {

inline constexpr const char* k_config_label = core::k_config_volume_label;
inline constexpr uint64_t k_config_size = 16ull << 20;

struct ConfigVolumeRequest {
  std::filesystem::path output;
  VolumeFormat format = VolumeFormat::qcow2;
  core::Force force = core::Force::no;
};

// One file of the volume. Secret content (the seed, the hotkey) is wiped
// when the file is dropped.
struct ConfigFile {
  std::string name; // without the leading '/'
  mode_t mode = 0644;
  core::Secret content;
  bool secret = false;
};

// The four files, rendered (netplan from templates/network-config.yaml.mustache).
std::vector<ConfigFile> render_config_files(const ConfigValues& values);
std::string render_netplan(const ConfigValues& values);

// The content manifest and its SHA-384 (the volume's configuration digest)
// live in core, where tdxctl-guest computes the same over the mounted volume.
using core::content_manifest;
using core::ManifestEntry;
using core::sha384_hex;
// "<96 hex>  <filename>\n" (sha384sum format).
std::string digest_line(const std::string& digest, const std::filesystem::path& output);
std::filesystem::path digest_path(const std::filesystem::path& output);

struct ConfigVolumePlan {
  core::Plan plan;
  std::string digest; // hex SHA-384 of the content manifest
};

// Plans the creation. Planning reads only: an existing output with the same
// digest and format makes every step "unchanged"; a different one is an
// error unless request.force is yes. `values` must outlive the plan. `probe`
// reads the existing output (qemu-img info) while planning, even under
// --dry-run; `effects` runs mke2fs, debugfs and qemu-img when it applies.
ConfigVolumePlan plan_config_volume(const ConfigVolumeRequest& request,
                                    std::shared_ptr<const ConfigValues> values,
                                    core::ProcessRunner& probe, core::ProcessRunner& effects);

} // namespace tdx::volume
