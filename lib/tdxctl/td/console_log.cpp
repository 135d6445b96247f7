// Console log files. Names reach paths only after valid_domain_name; files
// are opened without following links, since /var/log/tdxctl is shared with
// virtlogd and a link planted there must not make tdxctl read elsewhere.
#include "tdxctl/td/console_log.hpp"

#include "tdxctl/core/fs.hpp"
#include "tdxctl/td/spec.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <chrono>
#include <cstring>
#include <thread>

namespace tdx::td {

namespace {

namespace fs = std::filesystem;
using core::Category;

core::Result<void> check_name(std::string_view name) {
  if (!valid_domain_name(name))
    return core::fail(Category::usage, "td.bad_name",
                      fmt::format("domain name '{}': {}", name, domain_name_rule));
  return {};
}

// nullopt: no such file; an error for anything else that goes wrong.
core::Result<std::optional<std::string>> read_nofollow(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return core::fail(Category::failed, "td.log_read", fmt::format("cannot open {}: {}", path.string(), std::strerror(errno)));
  }
  std::string out;
  char buf[65536];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return core::fail(Category::failed, "td.log_read", fmt::format("cannot read {}: {}", path.string(), std::strerror(err)));
    }
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return std::optional<std::string>(std::move(out));
}

std::string format_utc(time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

} // namespace

std::string console_log_path(std::string_view name) {
  return fmt::format("{}/{}.console.log", console_log_dir, name);
}

std::string start_marker(std::string_view name, time_t at) {
  return fmt::format("\n-- tdxctl: {} started {} --\n", name, format_utc(at));
}

core::Result<void> append_start_marker(const fs::path& dir, std::string_view name, time_t at) {
  TDX_TRY(check_name(name));
  auto path = dir / fmt::format("{}.console.log", name);
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0640);
  if (fd < 0)
    return core::fail(Category::failed, "td.log_write", fmt::format("cannot open {}: {}", path.string(), std::strerror(errno)));
  auto line = start_marker(name, at);
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::close(fd);
  if (!ok) return core::fail(Category::failed, "td.log_write", "cannot append to " + path.string());
  return {};
}

core::Result<std::string> read_console_log(const core::Root& root, const LogRequest& request) {
  TDX_TRY(check_name(request.name));
  auto current = root.path(console_log_path(request.name));
  std::string text;
  bool any = false;
  // virtlogd's backups: .0 is the newest; read the oldest first.
  std::vector<std::string> parts;
  for (int i = 0;; ++i) {
    auto part = read_nofollow(current.string() + "." + std::to_string(i));
    if (!part) return std::unexpected(part.error());
    if (!*part) break;
    parts.push_back(std::move(**part));
  }
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) text += *it, any = true;
  auto now = read_nofollow(current);
  if (!now) return std::unexpected(now.error());
  if (*now) text += **now, any = true;
  if (!any)
    return core::fail(Category::not_ready, "td.no_console_log",
                      fmt::format("no console log for {} ({})", request.name, current.string()),
                      fmt::format("the TD writes it once launched by this tdxctl: 'tdxctl td launch --name {}'", request.name));
  if (request.since) {
    // The first start marker at or after `since` (they are in time order).
    const std::string prefix = fmt::format("\n-- tdxctl: {} started ", request.name);
    size_t at = 0;
    while ((at = text.find(prefix, at)) != std::string::npos) {
      struct tm tm{};
      auto stamp = text.substr(at + prefix.size(), 20);
      if (strptime(stamp.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm) && timegm(&tm) >= request.since) break;
      at += prefix.size();
    }
    text = at == std::string::npos ? std::string() : text.substr(at + 1);
  }
  return text;
}

void follow_console_log(const core::Root& root, std::string_view name, size_t offset,
                        const std::function<void(std::string_view)>& sink, const std::function<bool()>& keep_going) {
  auto path = root.path(console_log_path(name));
  ino_t inode = 0;
  while (keep_going()) {
    struct stat st{};
    if (::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      if (inode && st.st_ino != inode) offset = 0; // rotated: a new file from its start
      inode = st.st_ino;
      if (static_cast<size_t>(st.st_size) < offset) offset = 0; // truncated
      if (static_cast<size_t>(st.st_size) > offset) {
        int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0) {
          char buf[65536];
          ssize_t n;
          while ((n = ::pread(fd, buf, sizeof buf, static_cast<off_t>(offset))) > 0) {
            sink(std::string_view(buf, static_cast<size_t>(n)));
            offset += static_cast<size_t>(n);
          }
          ::close(fd);
        }
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

} // namespace tdx::td
