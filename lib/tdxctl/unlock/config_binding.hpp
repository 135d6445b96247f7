#pragma once
// The tdx-config volume checked against MRCONFIGID, inside the TD, before
// anything reads it. The host declares mrConfigId when it starts the TD, but
// it also chooses which disk to attach; only the guest can compare the two.
// With this check a quote's MRCONFIGID names the configuration the TD
// actually runs with (identity, hotkey, seed, network), which the key
// service and any verifier can pin.

#include "tdxctl/core/error.hpp"
#include "tdxctl/core/output.hpp"
#include "tdxctl/core/root.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace tdx::unlock {

// The volume is 16 MiB; more than that in its files is not a tdx-config volume.
inline constexpr uint64_t k_config_volume_max_bytes = 16ull << 20;

struct ConfigBinding {
  std::filesystem::path dir;
  std::string digest;       // hex SHA-384 of the content manifest of the mounted files
  std::string mr_config_id; // hex, from the TDX module
  std::string source;       // where MRCONFIGID was read
  std::vector<std::string> files;
  core::Json to_json() const;
};

// Reads every file of the mounted volume once, computes the content-manifest
// digest (core/config_manifest) and compares it with this TD's MRCONFIGID.
// Refuses (Category::failed): a zero MRCONFIGID (unlock.config_unbound), a
// different digest (unlock.config_mismatch), and any entry the digest would
// not cover: a symlink, device, FIFO, a directory other than an empty
// lost+found (unlock.config_entry).
// With `insecure_no_tdx` (unlock.conf TDX_INSECURE_SAMPLE_EVIDENCE=1), a
// guest with no TDX at all (neither /dev/tdx_guest nor the sysfs register)
// computes and reports the digest but compares it with nothing (source
// "none"): such a guest's evidence proves nothing either. A TD always compares.
core::Result<ConfigBinding> verify_config_binding(const core::Root& root, const std::string& config_dir,
                                                  bool insecure_no_tdx = false);

} // namespace tdx::unlock
