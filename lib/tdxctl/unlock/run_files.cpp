// /run/chutes/* for init-bottom and the systemd stage. The directory is 0700:
// the boot token lets its holder fetch the containerd volume key.
#include "tdxctl/unlock/run_files.hpp"

#include "tdxctl/core/fs.hpp"

#include <fmt/format.h>

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace tdx::unlock {

std::vector<std::filesystem::path> write_run_files(const core::Root& root, const std::string& vm_name,
                                                   const std::string& hotkey,
                                                   const std::optional<core::Secret>& boot_token) {
  auto dir = root.path(k_run_dir);
  std::error_code ec;
  std::filesystem::create_directories(dir.parent_path(), ec);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    throw core::Failure(core::Category::failed, "unlock.run_dir",
                        fmt::format("cannot create {}: {}", dir.string(), strerror(errno)));
  std::vector<std::filesystem::path> written;
  auto put = [&](const char* name, std::string_view data) {
    core::write_file_atomic(dir / name, data, 0600, core::Force::yes);
    written.push_back(dir / name);
  };
  put("vm-name", vm_name);
  put("hotkey", hotkey);
  put("boot-token", boot_token ? boot_token->reveal() : std::string_view{});
  return written;
}

} // namespace tdx::unlock
