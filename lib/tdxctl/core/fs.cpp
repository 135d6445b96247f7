// AtomicFile, TempDir and whole-file reads. The rename step uses
// renameat2(RENAME_NOREPLACE) when not forcing, so two concurrent runs cannot
// both "win" and silently replace each other's output.
#include "tdxctl/core/fs.hpp"

#include "tdxctl/core/fd_read.hpp"

#include "tdxctl/core/cleanup.hpp"
#include "tdxctl/core/unique_fd.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <vector>

namespace tdx::core {

namespace fs = std::filesystem;

void make_sparse(int fd, uint64_t size, const fs::path& shown) {
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0)
    throw Failure(Category::failed, "file.sparse",
                  "cannot make " + shown.string() + " a sparse file of " + std::to_string(size) +
                      " bytes: " + std::strerror(errno));
}

void refuse_existing(const fs::path& target, Force force) {
  std::error_code ec;
  if (force == Force::no && fs::exists(fs::symlink_status(target, ec)))
    throw Failure(Category::invalid_input, "output.exists",
                  target.string() + " already exists",
                  "pass --force to replace it, or choose another output path");
}

AtomicFile::AtomicFile(fs::path target, mode_t mode, Force force)
    : m_target(std::move(target)), m_force(force) {
  refuse_existing(m_target, force);
  auto dir = m_target.parent_path().empty() ? fs::path(".") : m_target.parent_path();
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw Failure(Category::invalid_input, "output.no_directory",
                  "cannot write " + m_target.string() + ": directory " + dir.string() +
                      " does not exist",
                  "create the directory first");
  std::string tmpl = (dir / ("." + m_target.filename().string() + ".tmp.XXXXXX")).string();
  m_fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
  if (m_fd < 0)
    throw Failure(Category::failed, "output.create",
                  "cannot create a temporary file in " + dir.string() + ": " +
                      std::strerror(errno));
  m_temp = tmpl;
  m_slot = register_cleanup(m_temp.string());
  ::fchmod(m_fd, mode);
}

AtomicFile::~AtomicFile() {
  if (m_fd >= 0) ::close(m_fd);
  if (!m_committed && !m_temp.empty()) ::unlink(m_temp.c_str());
  unregister_cleanup(m_slot);
}

void AtomicFile::write(std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(m_fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      throw Failure(Category::failed, "output.write",
                    "writing " + m_target.string() + ": " + std::strerror(errno),
                    errno == ENOSPC ? "free some space on that filesystem" : "");
    data.remove_prefix(static_cast<size_t>(n));
  }
}

void AtomicFile::close_fd() {
  if (m_fd >= 0) {
    ::fsync(m_fd);
    ::close(m_fd);
  }
  m_fd = -1;
}

void AtomicFile::commit() {
  if (m_fd >= 0 && ::fsync(m_fd) != 0)
    throw Failure(Category::failed, "output.fsync",
                  "writing " + m_target.string() + ": " + std::strerror(errno));
  close_fd();
  int rc = m_force == Force::yes
               ? ::rename(m_temp.c_str(), m_target.c_str())
               : ::renameat2(AT_FDCWD, m_temp.c_str(), AT_FDCWD, m_target.c_str(),
                             RENAME_NOREPLACE);
  if (rc != 0) {
    if (errno == EEXIST) refuse_existing(m_target, Force::no);
    throw Failure(Category::failed, "output.rename",
                  "cannot move the finished output into place as " + m_target.string() + ": " +
                      std::strerror(errno));
  }
  m_committed = true;
  auto dir = m_target.parent_path().empty() ? fs::path(".") : m_target.parent_path();
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

void write_file_atomic(const fs::path& target, std::string_view data, mode_t mode, Force force) {
  AtomicFile file(target, mode, force);
  file.write(data);
  file.commit();
}

Result<std::string> read_file(const fs::path& path) {
  std::string out;
  if (auto r = read_file_into(path, out); !r) return std::unexpected(r.error());
  return out;
}

// open/fstat/read rather than a stream: one allocation sized from the
// file, and no locale or stream buffer per file (batches read thousands).
// Files that report no size (pipes, /proc) are read to their end.
Result<void> read_file_into(const fs::path& path, std::string& out) {
  out.clear();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return file_unreadable(path, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return file_unreadable(path, e);
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return file_unreadable(path, EISDIR);
  }
  size_t size = S_ISREG(st.st_mode) && st.st_size > 0 ? static_cast<size_t>(st.st_size) : 0;
  bool read = append_to_end(fd, out, size);
  int e = errno;
  ::close(fd);
  if (!read) return file_unreadable(path, e);
  return {};
}

TempDir::TempDir(const fs::path& parent, std::string_view prefix) {
  fs::path base = parent.empty() ? fs::temp_directory_path() : parent;
  struct stat pst {};
  const char* unusable = ::stat(base.c_str(), &pst) != 0 ? std::strerror(errno)
                         : !S_ISDIR(pst.st_mode)            ? "not a directory"
                                                            : nullptr;
  if (unusable)
    throw Failure(Category::invalid_input, "workdir.parent",
                  "cannot make a work directory in " + base.string() + ": " + unusable);
  if ((pst.st_mode & S_IWOTH) && !(pst.st_mode & S_ISVTX))
    throw Failure(Category::invalid_input, "workdir.parent_unsafe",
                  base.string() + " is writable by every user and has no sticky bit: another user "
                                  "could replace tdxctl's work directory there",
                  "choose another output directory, or chmod +t or o-w it");
  std::string tmpl = (base / (std::string(prefix) + ".XXXXXX")).string();
  if (!::mkdtemp(tmpl.data()))
    throw Failure(Category::failed, "tempdir.create",
                  "cannot create a temporary directory in " + base.string() + ": " +
                      std::strerror(errno));
  m_path = tmpl;
  m_slot = register_cleanup_tree(m_path.string());
  m_dirfd = ::open(m_path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st {};
  if (m_dirfd < 0 || ::fstat(m_dirfd, &st) != 0 || st.st_uid != ::geteuid() ||
      (st.st_mode & 077) != 0) {
    auto why = m_dirfd < 0 ? std::string(std::strerror(errno)) : "not private to this user";
    if (m_dirfd >= 0) ::close(m_dirfd);
    unregister_cleanup(m_slot);
    // Not ours (it was swapped after mkdtemp): leave it alone.
    throw Failure(Category::failed, "tempdir.create",
                  "the work directory " + m_path.string() + " is " + why);
  }
}

TempDir::~TempDir() {
  if (m_dirfd >= 0) ::close(m_dirfd);
  std::error_code ec;
  fs::remove_all(m_path, ec);
  unregister_cleanup(m_slot);
}

int TempDir::create_file(std::string_view name, mode_t mode) const {
  std::string n(name);
  int fd = n.find('/') == std::string::npos
               ? ::openat(m_dirfd, n.c_str(),
                          O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
               : (errno = EINVAL, -1);
  if (fd < 0)
    throw Failure(Category::failed, "workdir.create_file",
                  "cannot create " + (m_path / n).string() + ": " + std::strerror(errno));
  return fd;
}

fs::path TempDir::create_sparse(std::string_view name, mode_t mode, uint64_t size) const {
  UniqueFd fd(create_file(name, mode));
  make_sparse(fd.get(), size, m_path / name);
  return m_path / name;
}

fs::path TempDir::create_dir(std::string_view name) const {
  std::string n(name);
  if (n.find('/') != std::string::npos || ::mkdirat(m_dirfd, n.c_str(), 0700) != 0)
    throw Failure(Category::failed, "workdir.create_dir",
                  "cannot create " + (m_path / n).string() + ": " + std::strerror(errno));
  return m_path / n;
}

fs::path memory_backed_dir() {
  struct statfs sfs {};
  if (::statfs("/dev/shm", &sfs) == 0 && sfs.f_type == TMPFS_MAGIC && ::access("/dev/shm", W_OK) == 0)
    return "/dev/shm";
  return {};
}

bool pread_full(int fd, void* buf, size_t len, uint64_t offset) {
  auto* p = static_cast<char*>(buf);
  while (len > 0) {
    ssize_t n = ::pread(fd, p, len, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) errno = ENODATA;
    if (n <= 0) return false;
    p += n, len -= static_cast<size_t>(n), offset += static_cast<uint64_t>(n);
  }
  return true;
}

bool pwrite_full(int fd, const void* buf, size_t len, uint64_t offset) {
  const auto* p = static_cast<const char*>(buf);
  while (len > 0) {
    ssize_t n = ::pwrite(fd, p, len, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) errno = EIO;
    if (n <= 0) return false;
    p += n, len -= static_cast<size_t>(n), offset += static_cast<uint64_t>(n);
  }
  return true;
}

bool write_full(int fd, const void* buf, size_t len) {
  const auto* p = static_cast<const char*>(buf);
  while (len > 0) {
    ssize_t n = ::write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) errno = EIO;
    if (n <= 0) return false;
    p += n, len -= static_cast<size_t>(n);
  }
  return true;
}

bool copy_bytes(int in, uint64_t in_offset, int out, uint64_t out_offset, uint64_t len) {
  auto in_off = static_cast<off64_t>(in_offset), out_off = static_cast<off64_t>(out_offset);
  std::vector<char> buf; // once the kernel refused copy_file_range
  while (len > 0) {
    ssize_t n = -1;
    if (buf.empty()) {
      n = ::copy_file_range(in, &in_off, out, &out_off, std::min<uint64_t>(len, 1ull << 30), 0);
      if (n < 0 && (errno == EXDEV || errno == EOPNOTSUPP || errno == ENOSYS || errno == EINVAL))
        buf.resize(std::min<uint64_t>(len, 8u << 20));
      if (!buf.empty()) continue;
    } else {
      n = ::pread(in, buf.data(), std::min<uint64_t>(len, buf.size()), in_off);
      if (n > 0 && !pwrite_full(out, buf.data(), static_cast<size_t>(n), static_cast<uint64_t>(out_off))) return false;
      if (n > 0) in_off += n, out_off += n;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) errno = ENODATA;
    if (n <= 0) return false;
    len -= static_cast<uint64_t>(n);
  }
  return true;
}

bool huge_tmpfs_in_mountinfo(std::string_view mountinfo, std::string_view major_minor) {
  // "ID PARENT MAJOR:MINOR ROOT POINT OPTS [TAGS] - FSTYPE SOURCE SUPEROPTS";
  // blanks inside fields are octal escapes, so single spaces split them.
  auto field = [](std::string_view line, size_t n) {
    for (; n > 0; --n) {
      auto sp = line.find(' ');
      if (sp == std::string_view::npos) return std::string_view();
      line.remove_prefix(sp + 1);
    }
    return line.substr(0, line.find(' '));
  };
  while (!mountinfo.empty()) {
    auto nl = mountinfo.find('\n');
    auto line = mountinfo.substr(0, nl);
    mountinfo.remove_prefix(nl == std::string_view::npos ? mountinfo.size() : nl + 1);
    auto dash = line.find(" - ");
    if (field(line, 2) != major_minor || dash == std::string_view::npos) continue;
    auto tail = line.substr(dash + 3);
    if (field(tail, 0) != "tmpfs") continue;
    auto options = field(tail, 2);
    while (!options.empty()) {
      auto comma = options.find(',');
      auto opt = options.substr(0, comma);
      if (opt == "huge=always" || opt == "huge=within_size" || opt == "huge=advise") return true;
      options.remove_prefix(comma == std::string_view::npos ? options.size() : comma + 1);
    }
    return false;
  }
  return false;
}

bool on_huge_page_tmpfs(int fd) {
  struct statfs sfs {};
  struct stat st {};
  if (::fstatfs(fd, &sfs) != 0 || sfs.f_type != TMPFS_MAGIC || ::fstat(fd, &st) != 0) return false;
  // THP off for this process, or denied for every tmpfs by the administrator.
  if (::prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) > 0) return false;
  std::string shmem;
  if (read_file_into("/sys/kernel/mm/transparent_hugepage/shmem_enabled", shmem) &&
      shmem.find("[deny]") != std::string::npos)
    return false;
  std::string mountinfo;
  if (!read_file_into("/proc/self/mountinfo", mountinfo)) return false;
  return huge_tmpfs_in_mountinfo(mountinfo, std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev)));
}

} // namespace tdx::core
