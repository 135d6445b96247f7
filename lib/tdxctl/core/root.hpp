#pragma once
// The --root seam: every /sys, /proc, /dev, /etc and /run path tdxctl reads
// or writes goes through a Root, so tests (and offline inspection of a
// captured host) point tdxctl at a directory instead of the live host.

#include "tdxctl/core/error.hpp"

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace tdx::core {

class Root {
public:
  Root() = default;
  explicit Root(std::filesystem::path dir) : m_dir(std::move(dir)) {}

  // Validates that `dir` exists and is a directory (Failure otherwise).
  static Root from_option(const std::string& dir);

  // The host path `abs` ("/sys/bus/pci") under this root.
  std::filesystem::path path(std::string_view abs) const;
  const std::filesystem::path& dir() const { return m_dir; }
  bool is_host() const { return m_dir.empty() || m_dir == "/"; }

  // The whole content of a file under the root, or nullopt if unreadable.
  std::optional<std::string> read(std::string_view abs) const;
  // The first line of a file, trailing whitespace removed (sysfs attributes).
  std::optional<std::string> read_line(std::string_view abs) const;
  bool exists(std::string_view abs) const;

  // Opens a file under the root without leaving it: resolved with openat2(),
  // under a --root DIR with RESOLVE_BENEATH (no absolute symlink and no ".."
  // may lead out of DIR: a fixture's proc/sys/... -> /elsewhere is refused,
  // not followed) and everywhere with RESOLVE_NO_MAGICLINKS. `flags` are
  // open(2)'s; O_CLOEXEC and O_NOCTTY are added. The fd is the caller's to close.
  // Errors: root.escape (not_ready) for a path that resolves outside the
  // root, root.open (failed) otherwise; both name the path and errno.
  Result<int> open_file(std::string_view abs, int flags, mode_t mode = 0) const;

  // The one writer for pseudo-files (/proc/sys, /sys and configfs
  // attributes, and their stand-ins in fixture trees): exactly `data`, in
  // one write(2), into an existing regular file opened with open_file(), so
  // never through a link out of --root and never creating a file. sysfs and
  // /proc/sys values end in "\n" as echo writes them; a configfs blob is
  // written as it is.
  Result<void> write(std::string_view abs, std::string_view data) const;
  // Its reading counterpart, for a value that is later written back: the
  // first line, trimmed, of a regular file opened with open_file().
  Result<std::string> read_pseudo(std::string_view abs) const;

private:
  std::filesystem::path m_dir{"/"};
};

// Strip leading and trailing ASCII whitespace.
std::string trim(std::string_view text);

} // namespace tdx::core
