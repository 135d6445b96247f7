#pragma once
// The tdx-cache volume (the guest's /var/snap): a sparse disk with an ext4
// filesystem whose metadata is packed at the start, so a 5000G volume takes
// about a second and a few MiB. The containerd volume: a blank sparse disk,
// which the TD formats (LUKS2 + ext4, with a key from the key service) on
// first boot only because it is blank (tdxctl-unlock(1)).

#include "tdxctl/core/fs.hpp"
#include "tdxctl/core/plan.hpp"
#include "tdxctl/core/runner.hpp"
#include "tdxctl/volume/volume_file.hpp"

#include <string>

namespace tdx::volume {

enum class CacheKind { cache, containerd };

// The sizes the replaced scripts gave the volumes (sparse: nothing is
// allocated until the guest writes).
inline constexpr const char* k_cache_default_size = "5000G";
inline constexpr const char* k_containerd_default_size = "500G";

struct CacheVolumeRequest {
  std::filesystem::path output;
  CacheKind kind = CacheKind::cache;
  std::string size;  // "5000G"; empty: the kind's default (5000G, or 500G for containerd)
  std::string label; // empty: tdx-cache; the containerd volume has none
  VolumeFormat format = VolumeFormat::qcow2;
  core::Force force = core::Force::no;
};

// "5000G", "500G", "1T", "64M", or plain bytes; powers of 1024. Errors name
// the accepted forms.
core::Result<uint64_t> parse_size(std::string_view text);
// An ext4 label: 1..16 bytes, no '/' or control characters.
core::Result<std::string> check_label(std::string_view label);

// Bytes the filesystem holding the output must have free: the metadata
// mke2fs writes (measured: 13 MiB for 5000G) with margin, twice for qcow2
// (raw image and converted copy exist together for a moment).
uint64_t cache_space_needed(uint64_t size, VolumeFormat format);

struct CacheVolumePlan {
  core::Plan plan;
  std::string label;
  uint64_t size = 0;
};

// Validates and plans (reads only). An existing output with the same format,
// size and label is "unchanged"; anything else there is an error unless
// request.force is yes. `probe` reads the existing output while planning
// (qemu-img info, quick_label), even under --dry-run; `effects` runs mke2fs
// and qemu-img convert when the plan applies.
CacheVolumePlan plan_cache_volume(const CacheVolumeRequest& request, core::ProcessRunner& probe,
                                  core::ProcessRunner& effects);

// The mke2fs command for a cache volume on `raw`.
core::Command cache_mkfs_command(const std::string& label, const std::filesystem::path& raw);

// LABEL of the ext4 filesystem in an image file (qcow2 or raw), read with
// qemu-img dd + blkid through `probe`, without libguestfs; nullopt if none.
std::optional<std::string> quick_label(core::ProcessRunner& probe, const std::filesystem::path& image,
                                       const std::string& format);

} // namespace tdx::volume
