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
#include "tdxctl/core/secret.hpp"

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace tdx::unlock {

// The volume is 16 MiB; more than that in its files is not a tdx-config volume.
inline constexpr uint64_t k_config_volume_max_bytes = 16ull << 20;

// One file of the volume as it was read for the digest: what every later
// reader uses (the host controls the disk, and could change it after the
// check; these bytes cannot change).
struct CheckedFile {
  std::string name;
  mode_t mode = 0;      // permission bits, as the digest covers them
  core::Secret content; // the seed is one of them: wiped when dropped
};

struct ConfigBinding {
  std::filesystem::path dir;
  std::string digest;       // hex SHA-384 of the content manifest of the mounted files
  std::string mr_config_id; // hex, from the TDX module
  std::string source;       // where MRCONFIGID was read
  std::vector<std::string> files;
  std::vector<CheckedFile> checked; // the bytes the digest covers (never in to_json)
  // The checked bytes of `name`, or nullptr when the volume has no such file.
  const core::Secret* content(std::string_view name) const;
  core::Json to_json() const;
};

// Reads every file of the mounted volume once, computes the content-manifest
// digest (core/config_manifest) and compares it with this TD's MRCONFIGID;
// the bytes read are kept in `checked`. Refuses (Category::failed): a zero
// MRCONFIGID (unlock.config_unbound), a different digest
// (unlock.config_mismatch), and any entry the digest would not cover: a
// symlink, device, FIFO, a directory other than an empty lost+found
// (unlock.config_entry).
// With `insecure_no_tdx` (unlock.conf TDX_INSECURE_SAMPLE_EVIDENCE=1), a
// guest with no TDX at all (neither /dev/tdx_guest nor the sysfs register)
// computes and reports the digest but compares it with nothing (source
// "none"): such a guest's evidence proves nothing either. A TD always compares.
core::Result<ConfigBinding> verify_config_binding(const core::Root& root, const std::string& config_dir,
                                                  bool insecure_no_tdx = false);

// Writes binding.checked to `dest` (under the root): a new private (0700)
// directory, replacing an earlier copy, inside a parent that must be a real
// directory owned by root and not writable by others (created 0700 when
// missing); each file created O_EXCL|O_NOFOLLOW with its checked mode. The
// premount script reads the network settings from this copy and runs the
// unlock on it, so nothing after the check reads the host's disk again.
// unlock.config_copy (failed) names the path at fault.
core::Result<void> write_checked_copy(const core::Root& root, const ConfigBinding& binding, const std::string& dest);

} // namespace tdx::unlock
