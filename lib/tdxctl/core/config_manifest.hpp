#pragma once
// The content manifest of the tdx-config volume and its SHA-384, the value
// `td launch` binds into MRCONFIGID. One implementation for both sides:
// the host computes it over the files it writes (volume config create) or
// reads back (volume inspect), and tdxctl-guest over the mounted volume
// before it trusts a byte of it. It lives in core so the guest slice has it.

#include "tdxctl/core/digest.hpp"

#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace tdx::core {

// The filesystem label of the config volume; the guest mounts it by label.
inline constexpr const char* k_config_volume_label = "tdx-config";

// The canonical content manifest: a header, the label, then one line per
// regular file sorted by name: "<mode octal> <size> <sha384 hex> /<name>".
// Its SHA-384 is the volume's configuration digest.
struct ManifestEntry {
  std::string name;
  mode_t mode = 0;
  std::string_view content;
};
std::string content_manifest(const std::string& label, std::vector<ManifestEntry> entries);

} // namespace tdx::core
