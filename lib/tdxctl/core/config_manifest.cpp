// The manifest format is frozen: changing a byte of it changes every
// volume's digest, so every TD launched with an older volume would refuse
// its configuration at boot.
#include "tdxctl/core/config_manifest.hpp"

#include "tdxctl/core/error.hpp"
#include "tdxctl/core/hex.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>

namespace tdx::core {

std::string content_manifest(const std::string& label, std::vector<ManifestEntry> entries) {
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  std::string out = "tdxctl.volume.config-manifest/1\nlabel " + label + "\n";
  for (const auto& e : entries) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(e.mode & 07777));
    out += std::string(mode) + " " + std::to_string(e.content.size()) + " " +
           sha384_hex(e.content) + " /" + e.name + "\n";
  }
  return out;
}

} // namespace tdx::core
