#pragma once
// The TD's console, written to a file by libvirt (<console><log file=...
// append='on'/>: virtlogd keeps it, and rotates it at its max_size, 2 MiB
// and 3 backups by default in /etc/libvirt/virtlogd.conf), so boot and
// unlock failures are visible without libvirt knowledge: `tdxctl td logs`
// prints it, `tdxctl td console` attaches to the live console.

#include "tdxctl/core/error.hpp"
#include "tdxctl/core/root.hpp"

#include <ctime>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

namespace tdx::td {

inline constexpr const char* console_log_dir = "/var/log/tdxctl";

// /var/log/tdxctl/NAME.console.log, as libvirt sees it (not under --root).
std::string console_log_path(std::string_view name);

// The line `td launch` appends before each start, so --since finds boots.
std::string start_marker(std::string_view name, time_t at);
// `dir` is console_log_dir as seen under the Root.
core::Result<void> append_start_marker(const std::filesystem::path& dir, std::string_view name, time_t at);

struct LogRequest {
  std::string name;
  time_t since = 0; // 0: everything; else from the first start at or after it
};

// The log under the Root: virtlogd's backups (NAME.console.log.N ... .0,
// oldest first), then the current file. not_ready when there is none.
core::Result<std::string> read_console_log(const core::Root& root, const LogRequest& request);

// Prints what is appended to the current file from `offset` on, across
// rotations, until `keep_going` says stop (checked between polls).
void follow_console_log(const core::Root& root, std::string_view name, size_t offset,
                        const std::function<void(std::string_view)>& sink,
                        const std::function<bool()>& keep_going);

} // namespace tdx::td
