// Root-prefixed host paths. Reads are tolerant (nullopt) because sysfs files
// vanish and refuse reads routinely; callers decide whether that is an error.
#include "tdxctl/core/root.hpp"

#include "tdxctl/core/error.hpp"

#include <fstream>
#include <sstream>
#include <system_error>

namespace tdx::core {

Root Root::from_option(const std::string& dir) {
  if (dir.empty() || dir == "/") return Root{"/"};
  std::error_code ec;
  auto status = std::filesystem::status(dir, ec);
  if (ec || !std::filesystem::exists(status))
    throw Failure(Category::usage, "root.missing", "--root " + dir + ": no such directory",
                  "point --root (or TDXCTL_ROOT) at an existing directory, or drop it to use /");
  if (!std::filesystem::is_directory(status))
    throw Failure(Category::usage, "root.not_directory", "--root " + dir + ": not a directory");
  return Root{std::filesystem::absolute(dir).lexically_normal()};
}

std::filesystem::path Root::path(std::string_view abs) const {
  std::string_view rel = abs;
  while (!rel.empty() && rel.front() == '/') rel.remove_prefix(1);
  if (is_host()) return std::filesystem::path("/") / rel;
  return m_dir / rel;
}

std::optional<std::string> Root::read(std::string_view abs) const {
  std::ifstream in(path(abs), std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return out.str();
}

std::optional<std::string> Root::read_line(std::string_view abs) const {
  auto text = read(abs);
  if (!text) return std::nullopt;
  auto nl = text->find('\n');
  return trim(nl == std::string::npos ? *text : std::string_view(*text).substr(0, nl));
}

bool Root::exists(std::string_view abs) const {
  std::error_code ec;
  return std::filesystem::exists(path(abs), ec);
}

std::string trim(std::string_view text) {
  const char* ws = " \t\r\n\f\v";
  auto b = text.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  auto e = text.find_last_not_of(ws);
  return std::string(text.substr(b, e - b + 1));
}

} // namespace tdx::core
