// Each file is opened once relative to the directory (O_NOFOLLOW), read into
// a buffer of its fstat size (no reallocation leaves a copy of the seed
// behind) and wiped after hashing. Nothing of the volume is interpreted
// here: the values are read later, by the callers, once they are bound.
#include "tdxctl/unlock/config_binding.hpp"

#include "tdxctl/core/config_manifest.hpp"
#include "tdxctl/core/hex.hpp"
#include "tdxctl/core/secret.hpp"
#include "tdxctl/quote/own_measurements.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

namespace tdx::unlock {
namespace {

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};
using DirPtr = std::unique_ptr<DIR, DirCloser>;

core::Error volume_unreadable(const std::string& message) {
  return core::Error{core::Category::not_ready, "unlock.config_volume", message,
                     "is the tdx-config volume attached and mounted (see tdxctl-volume(1))?"};
}

core::Error unexpected_entry(const std::filesystem::path& path, std::string_view what) {
  return core::Error{core::Category::failed, "unlock.config_entry",
                     fmt::format("{} is {}: the configuration digest covers regular files only, so MRCONFIGID "
                                 "would not bind it",
                                 path.string(), what),
                     "attach the tdx-config volume that `tdxctl volume config create` made, unmodified"};
}

std::string_view kind_of(mode_t mode) {
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device node";
  return "not a regular file";
}

// mke2fs makes lost+found; anything inside it would be unbound content.
core::Result<void> check_lost_found(int dirfd, const std::filesystem::path& path) {
  int fd = ::openat(dirfd, "lost+found", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return std::unexpected(volume_unreadable(fmt::format("cannot open {}: {}", path.string(), strerror(errno))));
  DirPtr dir(::fdopendir(fd));
  if (!dir) {
    ::close(fd);
    return std::unexpected(volume_unreadable(fmt::format("cannot list {}: {}", path.string(), strerror(errno))));
  }
  while (dirent* e = ::readdir(dir.get())) {
    std::string_view name = e->d_name;
    if (name != "." && name != "..") return std::unexpected(unexpected_entry(path / name, "inside lost+found"));
  }
  return {};
}

struct VolumeFile {
  std::string name;
  mode_t mode = 0;
  core::Secret content; // the seed is one of them: wiped when dropped
};

core::Result<VolumeFile> read_volume_file(int dirfd, const std::string& name, const std::filesystem::path& path,
                                          uint64_t& budget) {
  Fd f{::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)};
  if (f.fd < 0) return std::unexpected(volume_unreadable(fmt::format("cannot open {}: {}", path.string(), strerror(errno))));
  struct stat st {};
  if (::fstat(f.fd, &st) != 0)
    return std::unexpected(volume_unreadable(fmt::format("cannot stat {}: {}", path.string(), strerror(errno))));
  if (!S_ISREG(st.st_mode)) return std::unexpected(unexpected_entry(path, kind_of(st.st_mode)));
  if (static_cast<uint64_t>(st.st_size) > budget)
    return core::fail(core::Category::failed, "unlock.config_size",
                      fmt::format("{} is {} bytes: more than a {} MiB tdx-config volume holds", path.string(),
                                  st.st_size, k_config_volume_max_bytes >> 20));
  budget -= static_cast<uint64_t>(st.st_size);
  std::string buf(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < buf.size()) {
    ssize_t n = ::read(f.fd, buf.data() + got, buf.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  char extra;
  bool grew = got == buf.size() && ::read(f.fd, &extra, 1) > 0;
  VolumeFile out{name, static_cast<mode_t>(st.st_mode & 07777), core::Secret(std::move(buf))};
  if (got != out.content.size() || grew)
    return std::unexpected(volume_unreadable(
        fmt::format("{} changed size while it was read ({} bytes by fstat)", path.string(), st.st_size)));
  return out;
}

} // namespace

core::Json ConfigBinding::to_json() const {
  return core::Json{{"dir", dir.string()},
                    {"sha384", digest},
                    {"mr_config_id", mr_config_id},
                    {"mr_config_id_source", source},
                    {"files", files}};
}

core::Result<ConfigBinding> verify_config_binding(const core::Root& root, const std::string& config_dir,
                                                  bool insecure_no_tdx) {
  ConfigBinding binding;
  binding.dir = root.path(config_dir);

  // MRCONFIGID first: a TD that cannot read it stops before reading the volume.
  bool no_tdx = insecure_no_tdx && !root.exists("/dev/tdx_guest") && !root.exists(quote::k_mr_config_id_sysfs);
  auto mr = no_tdx ? core::Result<quote::OwnMrConfigId>(quote::OwnMrConfigId{}) : quote::read_own_mr_config_id(root);
  if (!mr) return std::unexpected(mr.error());
  binding.mr_config_id = no_tdx ? "" : core::to_hex(mr->value);
  binding.source = no_tdx ? "none" : mr->source;
  if (no_tdx)
    spdlog::warn("no TDX (no /dev/tdx_guest) and unlock.conf sets TDX_INSECURE_SAMPLE_EVIDENCE=1: the tdx-config "
                 "volume is NOT checked against an MRCONFIGID (hardware-less testing only)");
  else if (mr->zero())
    return core::fail(core::Category::failed, "unlock.config_unbound",
                      fmt::format("this TD's MRCONFIGID is zero (read from {}): the host launched it without "
                                  "binding a configuration, so nothing proves that {} is the intended one",
                                  mr->source, binding.dir.string()),
                      "launch the TD with `tdxctl td launch` (mrConfigId from the volume's PATH.sha384) or "
                      "set <mrConfigId> to that digest");

  Fd dirfd{::open(binding.dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
  if (dirfd.fd < 0)
    return std::unexpected(
        volume_unreadable(fmt::format("cannot open {}: {}", binding.dir.string(), strerror(errno))));
  int listfd = ::dup(dirfd.fd);
  DirPtr dir(listfd >= 0 ? ::fdopendir(listfd) : nullptr);
  if (!dir) {
    if (listfd >= 0) ::close(listfd);
    return std::unexpected(volume_unreadable(fmt::format("cannot list {}: {}", binding.dir.string(), strerror(errno))));
  }
  std::vector<VolumeFile> files;
  uint64_t budget = k_config_volume_max_bytes;
  while (dirent* e = ::readdir(dir.get())) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    auto path = binding.dir / name;
    struct stat st {};
    if (::fstatat(dirfd.fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      return std::unexpected(volume_unreadable(fmt::format("cannot stat {}: {}", path.string(), strerror(errno))));
    if (S_ISDIR(st.st_mode) && name == "lost+found") {
      TDX_TRY(check_lost_found(dirfd.fd, path));
      continue;
    }
    if (!S_ISREG(st.st_mode)) return std::unexpected(unexpected_entry(path, kind_of(st.st_mode)));
    auto file = read_volume_file(dirfd.fd, name, path, budget);
    if (!file) return std::unexpected(file.error());
    files.push_back(std::move(*file));
  }

  std::vector<core::ManifestEntry> entries;
  for (const auto& f : files) {
    entries.push_back({f.name, f.mode, f.content.reveal()});
    binding.files.push_back(f.name);
  }
  std::sort(binding.files.begin(), binding.files.end());
  binding.digest = core::sha384_hex(core::content_manifest(core::k_config_volume_label, entries));
  if (!no_tdx && binding.digest != binding.mr_config_id)
    return core::fail(core::Category::failed, "unlock.config_mismatch",
                      fmt::format("the tdx-config volume at {} does not match this TD's MRCONFIGID: its content "
                                  "digest is {}, MRCONFIGID is {} (read from {}); the host attached another "
                                  "volume than the one it declared",
                                  binding.dir.string(), binding.digest, binding.mr_config_id, binding.source),
                      "attach the volume whose PATH.sha384 gave the domain's mrConfigId; `tdxctl volume inspect` "
                      "shows a volume's digest");
  return binding;
}

} // namespace tdx::unlock
