#pragma once
// The --root seam: every /sys, /proc, /dev, /etc and /run path tdxctl reads
// or writes goes through a Root, so tests (and offline inspection of a
// captured host) point tdxctl at a directory instead of the live host.

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

private:
  std::filesystem::path m_dir{"/"};
};

// Strip leading and trailing ASCII whitespace.
std::string trim(std::string_view text);

} // namespace tdx::core
