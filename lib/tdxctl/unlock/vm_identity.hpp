#pragma once
// The TD's identity for the key service, from the tdx-config volume's bytes
// as config_binding checked them against MRCONFIGID (never re-read from the
// host's disk):
// `hostname` becomes vm_name and `miner-ss58` the miner hotkey, sanitised
// as today's initramfs does (EXISTING-SCRIPTS.md §4.4) so the key service
// sees the same strings; the hotkey must then pass the host's SS58 check.

#include "tdxctl/core/error.hpp"
#include "tdxctl/unlock/config_binding.hpp"

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

// From the checked `hostname` and `miner-ss58`; errors name binding.dir/FILE.
core::Result<VmIdentity> vm_identity_from(const ConfigBinding& binding);

} // namespace tdx::unlock
