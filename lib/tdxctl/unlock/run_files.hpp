#pragma once
// What later boot stages read from /run/chutes (EXISTING-SCRIPTS.md §6.5
// step 6): vm-name, hotkey and boot-token, each 0600 and written atomically
// under --root. boot-token is written empty when the service sent none, as
// today, so consumers can rely on the file existing.

#include "tdxctl/core/error.hpp"
#include "tdxctl/core/root.hpp"
#include "tdxctl/core/secret.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace tdx::unlock {

inline constexpr std::string_view k_run_dir = "/run/chutes";

std::vector<std::filesystem::path> write_run_files(const core::Root& root, const std::string& vm_name,
                                                   const std::string& hotkey,
                                                   const std::optional<core::Secret>& boot_token);

} // namespace tdx::unlock
