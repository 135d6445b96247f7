// Root-prefixed host paths. Reads are tolerant (nullopt) because sysfs files
// vanish and refuse reads routinely; callers decide whether that is an error.
// Writes go through openat2() so that a tree given as --root cannot redirect
// them outside itself with a symlink (tdxctl runs as root).
#include "tdxctl/core/root.hpp"

#include "tdxctl/core/error.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
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

Result<int> Root::open_file(std::string_view abs, int flags, mode_t mode) const {
  std::string rel(abs);
  while (!rel.empty() && rel.front() == '/') rel.erase(0, 1);
  if (rel.empty()) rel = ".";
  const std::string shown = path(abs).string();
  int dirfd = ::open(is_host() ? "/" : m_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    return fail(Category::failed, "root.open", "cannot open --root " + m_dir.string() + ": " + std::strerror(errno));
  open_how how{};
  // openat2() is strict: O_PATH takes no other flags than these, and a mode
  // only goes with O_CREAT or O_TMPFILE.
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC | ((flags & O_PATH) ? 0 : O_NOCTTY));
  how.mode = ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) ? mode : 0;
  // On the live host "/" is the root there is to stay in; elsewhere the
  // fixture directory is, and a link out of it is an attack or a mistake.
  how.resolve = RESOLVE_NO_MAGICLINKS | (is_host() ? 0 : RESOLVE_BENEATH);
  long fd = -1;
  // EAGAIN: a concurrent rename raced the resolution; the kernel asks to retry.
  for (int tries = 0; tries < 16; ++tries) {
    fd = ::syscall(SYS_openat2, dirfd, rel.c_str(), &how, sizeof how);
    if (fd >= 0 || (errno != EAGAIN && errno != EINTR)) break;
  }
  int err = errno;
  if (fd < 0 && err == ENOSYS && is_host()) { // Linux < 5.6: plain open of the host path
    fd = ::openat(dirfd, rel.c_str(), static_cast<int>(how.flags), mode);
    err = errno;
  }
  ::close(dirfd);
  if (fd >= 0) return static_cast<int>(fd);
  if (err == EXDEV)
    return fail(Category::not_ready, "root.escape",
                "refusing " + shown + ": it resolves outside --root " + m_dir.string() +
                    " (an absolute symlink or '..' leads out)",
                "make the links in the --root tree relative and inside it");
  if (err == ENOSYS)
    return fail(Category::not_ready, "root.escape",
                "cannot open " + shown + " safely: the kernel has no openat2() (Linux 5.6 or later is needed with --root)");
  return fail(Category::failed, "root.open", "cannot open " + shown + ": " + std::strerror(err));
}

namespace {

// A written value for messages: the text of a sysfs-style value, or only its
// size for a binary blob.
std::string shown_data(std::string_view data) {
  std::string_view text = data.ends_with('\n') ? data.substr(0, data.size() - 1) : data;
  for (unsigned char c : text)
    if (c < 0x20 || c > 0x7e) return std::to_string(data.size()) + " bytes";
  return "'" + std::string(text) + "'";
}

} // namespace

Result<void> Root::write(std::string_view abs, std::string_view data) const {
  // O_NONBLOCK: a FIFO planted in a fixture fails (ENXIO) instead of hanging.
  auto fd = open_file(abs, O_WRONLY | O_TRUNC | O_NONBLOCK);
  if (!fd) return std::unexpected(fd.error());
  const std::string shown = path(abs).string();
  struct stat st {};
  if (::fstat(*fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(*fd);
    return fail(Category::failed, "root.not_file", "refusing to write " + shown + ": not a regular file");
  }
  ssize_t n = ::write(*fd, data.data(), data.size());
  int err = errno;
  ::close(*fd);
  if (n != static_cast<ssize_t>(data.size()))
    return fail(Category::failed, "root.write",
                "writing " + shown_data(data) + " to " + shown + " failed: " +
                    (n < 0 ? std::strerror(err) : "short write"));
  return {};
}

Result<std::string> Root::read_pseudo(std::string_view abs) const {
  auto fd = open_file(abs, O_RDONLY | O_NONBLOCK);
  if (!fd) return std::unexpected(fd.error());
  struct stat st {};
  if (::fstat(*fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(*fd);
    return fail(Category::failed, "root.not_file", "refusing to read " + path(abs).string() + ": not a regular file");
  }
  char buf[4096];
  ssize_t n;
  do n = ::read(*fd, buf, sizeof buf); while (n < 0 && errno == EINTR);
  int err = errno;
  ::close(*fd);
  if (n < 0) return fail(Category::failed, "root.read", "cannot read " + path(abs).string() + ": " + std::strerror(err));
  std::string_view text(buf, static_cast<size_t>(n));
  return trim(text.substr(0, text.find('\n')));
}

std::string trim(std::string_view text) {
  const char* ws = " \t\r\n\f\v";
  auto b = text.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  auto e = text.find_last_not_of(ws);
  return std::string(text.substr(b, e - b + 1));
}

} // namespace tdx::core
