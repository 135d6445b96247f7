#pragma once
// The TD's identity for the key service, from the tdx-config volume (which
// the premount script mounts read-only, by default at /run/tdx-config):
// `hostname` becomes vm_name and `miner-ss58` the miner hotkey, sanitised
// as today's initramfs does (EXISTING-SCRIPTS.md §4.4) so the key service
// sees the same strings; the hotkey must then pass the host's SS58 check.

#include "tdxctl/core/error.hpp"

#include <filesystem>
#include <string>
#include <string_view>

namespace tdx::unlock {

struct VmIdentity {
  std::string vm_name;
  std::string miner_hotkey;
};

// hostname: whitespace removed, then the leading run of [A-Za-z0-9_-].
std::string sanitise_vm_name(std::string_view raw);
// miner-ss58: whitespace removed (read_vm_identity then checks it as SS58).
std::string sanitise_hotkey(std::string_view raw);

core::Result<VmIdentity> read_vm_identity(const std::filesystem::path& config_dir);

} // namespace tdx::unlock
