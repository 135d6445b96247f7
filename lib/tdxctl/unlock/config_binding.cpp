// Each file is opened once relative to the directory (O_NOFOLLOW) and read
// into a buffer of its fstat size (no reallocation leaves a copy of the seed
// behind). Those buffers are hashed and then kept: the host controls the disk
// and could change it right after the check, so every later reader uses
// these bytes (in process) or the private copy written from them (the
// premount script), never the disk again. Nothing of the volume is
// interpreted here: the values are read by the callers, once they are bound.
#include "tdxctl/unlock/config_binding.hpp"

#include "tdxctl/core/cleanup.hpp"
#include "tdxctl/core/config_manifest.hpp"
#include "tdxctl/core/hex.hpp"
#include "tdxctl/core/unique_fd.hpp"
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

core::Result<CheckedFile> read_volume_file(int dirfd, const std::string& name, const std::filesystem::path& path,
                                           uint64_t& budget) {
  core::UniqueFd f(::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!f) return std::unexpected(volume_unreadable(fmt::format("cannot open {}: {}", path.string(), strerror(errno))));
  struct stat st {};
  if (::fstat(f.get(), &st) != 0)
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
    ssize_t n = ::read(f.get(), buf.data() + got, buf.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  char extra;
  bool grew = got == buf.size() && ::read(f.get(), &extra, 1) > 0;
  CheckedFile out{name, static_cast<mode_t>(st.st_mode & 07777), core::Secret(std::move(buf))};
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

  core::UniqueFd dirfd(::open(binding.dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dirfd)
    return std::unexpected(
        volume_unreadable(fmt::format("cannot open {}: {}", binding.dir.string(), strerror(errno))));
  int listfd = ::dup(dirfd.get());
  DirPtr dir(listfd >= 0 ? ::fdopendir(listfd) : nullptr);
  if (!dir) {
    if (listfd >= 0) ::close(listfd);
    return std::unexpected(volume_unreadable(fmt::format("cannot list {}: {}", binding.dir.string(), strerror(errno))));
  }
  std::vector<CheckedFile> files;
  uint64_t budget = k_config_volume_max_bytes;
  while (dirent* e = ::readdir(dir.get())) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    auto path = binding.dir / name;
    struct stat st {};
    if (::fstatat(dirfd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      return std::unexpected(volume_unreadable(fmt::format("cannot stat {}: {}", path.string(), strerror(errno))));
    if (S_ISDIR(st.st_mode) && name == "lost+found") {
      TDX_TRY(check_lost_found(dirfd.get(), path));
      continue;
    }
    if (!S_ISREG(st.st_mode)) return std::unexpected(unexpected_entry(path, kind_of(st.st_mode)));
    auto file = read_volume_file(dirfd.get(), name, path, budget);
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
  binding.checked = std::move(files);
  return binding;
}

const core::Secret* ConfigBinding::content(std::string_view name) const {
  for (const auto& f : checked)
    if (f.name == name) return &f.content;
  return nullptr;
}

core::Result<void> write_checked_copy(const core::Root& root, const ConfigBinding& binding, const std::string& dest) {
  const auto path = root.path(dest);
  const auto parent = path.parent_path();
  const std::string name = path.filename().string();
  auto refuse = [&](const std::filesystem::path& at, const std::string& why) {
    return core::fail(core::Category::failed, "unlock.config_copy",
                      fmt::format("cannot write the checked copy of the tdx-config volume to {}: {} {}", path.string(),
                                  at.string(), why),
                      "give --config-copy a directory on a private tmpfs, such as /run/tdxctl/config");
  };
  if (name.empty() || name == "." || name == "..") return refuse(path, "is not a directory name");
  std::error_code ec;
  std::filesystem::create_directories(parent.parent_path(), ec);
  if (::mkdir(parent.c_str(), 0700) != 0 && errno != EEXIST) return refuse(parent, strerror(errno));
  // The copy is what the rest of the boot trusts: only root may be able to
  // put anything beside it or swap it out.
  core::UniqueFd parentfd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!parentfd) return refuse(parent, errno == ELOOP || errno == ENOTDIR ? "is not a directory (a symbolic link?)" : strerror(errno));
  struct stat pst {};
  if (::fstat(parentfd.get(), &pst) != 0) return refuse(parent, strerror(errno));
  if (pst.st_uid != ::geteuid() || (pst.st_mode & (S_IWGRP | S_IWOTH)) != 0)
    return refuse(parent, fmt::format("is owned by uid {} with mode {:04o}; it must be ours and not writable by others",
                                      pst.st_uid, pst.st_mode & 07777));
  // An earlier copy (a re-run) goes first; remove_tree follows no symlink.
  if (::faccessat(parentfd.get(), name.c_str(), F_OK, AT_SYMLINK_NOFOLLOW) == 0 && !core::remove_tree(path.c_str()))
    return refuse(path, "holds an earlier copy that could not be removed");
  if (::mkdirat(parentfd.get(), name.c_str(), 0700) != 0) return refuse(path, strerror(errno));
  core::UniqueFd dirfd(::openat(parentfd.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dirfd) return refuse(path, strerror(errno));
  for (const auto& f : binding.checked) {
    core::UniqueFd out(::openat(dirfd.get(), f.name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!out) return refuse(path / f.name, strerror(errno));
    std::string_view data = f.content.reveal();
    while (!data.empty()) {
      ssize_t n = ::write(out.get(), data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return refuse(path / f.name, n < 0 ? strerror(errno) : "short write");
      data.remove_prefix(static_cast<size_t>(n));
    }
    // The mode as the digest covers it (umask would have changed it), so the
    // copy verifies to the same MRCONFIGID.
    if (::fchmod(out.get(), f.mode) != 0) return refuse(path / f.name, strerror(errno));
  }
  return {};
}

} // namespace tdx::unlock
