// Shared plumbing for volume creation. The checks here run while planning,
// before any byte is written, so "no space" or "this filesystem cannot hold a
// 5000G file" is reported up front instead of as a half-made volume.
#include "tdxctl/volume/volume_file.hpp"

#include "tdxctl/core/fs.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

namespace tdx::volume {

namespace fs = std::filesystem;
using core::Category;
using core::Failure;

const char* format_name(VolumeFormat format) {
  return format == VolumeFormat::qcow2 ? "qcow2" : "raw";
}

fs::path parent_dir(const fs::path& target) {
  return target.parent_path().empty() ? fs::path(".") : target.parent_path();
}

std::string human_bytes(uint64_t bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int u = 0;
  double v = static_cast<double>(bytes);
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

void check_room(const fs::path& dir, uint64_t needed, uint64_t size, const std::string& what) {
  struct statvfs vfs{};
  if (::statvfs(dir.c_str(), &vfs) != 0)
    throw Failure(Category::invalid_input, "output.no_directory",
                  "cannot write " + what + " into " + dir.string() + ": " + std::strerror(errno),
                  "create the directory first");
  uint64_t avail = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  if (avail < needed)
    throw Failure(Category::not_ready, "volume.no_space",
                  what + " needs " + human_bytes(needed) + " free in " + dir.string() +
                      " (filesystem metadata, written up front) but only " + human_bytes(avail) +
                      " is available",
                  "free some space or choose another directory");
  // An anonymous O_TMPFILE leaves nothing behind, whatever happens.
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) return; // filesystems without O_TMPFILE: the real write reports it
  int rc = ::ftruncate(fd, static_cast<off_t>(size));
  int err = errno;
  ::close(fd);
  if (rc != 0 && err == EFBIG)
    throw Failure(Category::invalid_input, "volume.too_large",
                  what + ": the filesystem holding " + dir.string() + " cannot hold a file of " +
                      human_bytes(size) + " (" + std::to_string(size) + " bytes)",
                  "choose a smaller --size, or a directory on a filesystem with larger files "
                  "(e.g. XFS; ext4 with 4 KiB blocks stops at 16 TiB)");
}

core::Command qcow2_convert_command(const fs::path& raw, const fs::path& qcow2,
                                    std::chrono::milliseconds timeout) {
  core::Command cmd{{"qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw.string(), qcow2.string()}};
  cmd.timeout = timeout;
  return cmd;
}

} // namespace tdx::volume
