#pragma once
// Files written the safe way: an AtomicFile is a temporary in the target
// directory, renamed over the final name only on commit(); destroyed without
// commit it is unlinked (and on SIGINT too). Existing outputs are never
// replaced without Force::yes.

#include "tdxctl/core/error.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <sys/types.h>

namespace tdx::core {

enum class Force { no, yes };

class AtomicFile {
public:
  // Fails (Failure, invalid_input) if `target` exists and force is no, or if
  // its directory does not exist or is not writable.
  AtomicFile(std::filesystem::path target, mode_t mode, Force force);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(std::string_view data);
  int fd() const { return m_fd; }
  const std::filesystem::path& temp_path() const { return m_temp; }
  const std::filesystem::path& target() const { return m_target; }
  // Closes the fd (callers that write the temp by path, e.g. mke2fs, call
  // this first) and leaves the temporary in place for them.
  void close_fd();
  // fsync, rename into place (no-replace unless forced), fsync the directory.
  void commit();

private:
  std::filesystem::path m_target;
  std::filesystem::path m_temp;
  Force m_force;
  int m_fd = -1;
  int m_slot = -1;
  bool m_committed = false;
};

// Sets the open file `fd` to `size` bytes without allocating them (ftruncate:
// a sparse file). Failure file.sparse naming `shown` otherwise.
void make_sparse(int fd, uint64_t size, const std::filesystem::path& shown);

// Refuse to go on when `target` exists and `force` is no: the shared wording.
void refuse_existing(const std::filesystem::path& target, Force force);

void write_file_atomic(const std::filesystem::path& target, std::string_view data, mode_t mode,
                       Force force);
Result<std::string> read_file(const std::filesystem::path& path);
// The same into `out` (replaced; its capacity is reused, for readers of many files).
Result<void> read_file_into(const std::filesystem::path& path, std::string& out);

// Exactly `len` bytes at `offset`, retried over short transfers and EINTR;
// false with errno set otherwise (ENODATA: the file ended first).
bool pread_full(int fd, void* buf, size_t len, uint64_t offset);
bool pwrite_full(int fd, const void* buf, size_t len, uint64_t offset);
// The same at the file offset (which moves on), for pipes and appends.
bool write_full(int fd, const void* buf, size_t len);

// Copies `len` bytes from `in` at `in_offset` to `out` at `out_offset`: in
// the kernel (copy_file_range, reflinked where the filesystem can), or
// through a buffer where the kernel refuses across filesystems. False with
// errno set otherwise (ENODATA: `in` ended first). Within one file the two
// ranges must not overlap.
bool copy_bytes(int in, uint64_t in_offset, int out, uint64_t out_offset, uint64_t len);

// True when `fd`'s file lies on a tmpfs mounted with huge=always,
// within_size or advise: a MAP_SHARED mapping of it with MADV_HUGEPAGE is
// backed by 2 MiB pages, so touching it costs one fault per 2 MiB instead
// of one per 4 KiB (which on a VM with shadow paging costs more than
// copying the bytes). False too when THP is off for this process or
// shmem_enabled is "deny".
bool on_huge_page_tmpfs(int fd);
// Its mountinfo half: whether the mount of device "MAJOR:MINOR" in a
// /proc/self/mountinfo text is a tmpfs with one of those huge= options.
bool huge_tmpfs_in_mountinfo(std::string_view mountinfo, std::string_view major_minor);

// The one work directory of tdxctl (image build, volume staging, probes):
// made with mkdtemp (0700, owned by us, a fresh name nobody could have
// prepared) in `parent` (default $TMPDIR or /tmp), and removed with its
// content on destruction and on an interrupting signal or crash
// (core/cleanup). A parent others may write to without the sticky bit is
// refused: they could rename ours away and put their own in its place.
// Files inside are created with O_EXCL|O_NOFOLLOW through the directory's fd.
class TempDir {
public:
  explicit TempDir(const std::filesystem::path& parent = {}, std::string_view prefix = "tdxctl");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return m_path; }
  std::filesystem::path operator/(std::string_view name) const { return m_path / name; }

  // Creates the file `name` (a plain name, no '/') exclusively, never through
  // a symlink; returns its read-write fd (O_CLOEXEC), which the caller closes.
  int create_file(std::string_view name, mode_t mode) const;
  // create_file, made a sparse file of `size` bytes and closed; returns its path.
  std::filesystem::path create_sparse(std::string_view name, mode_t mode, uint64_t size) const;
  // Creates the private (0700) subdirectory `name`; returns its path.
  std::filesystem::path create_dir(std::string_view name) const;

private:
  std::filesystem::path m_path;
  int m_dirfd = -1;
  int m_slot = -1;
};

// A directory in memory (a tmpfs: /dev/shm) to stage secrets in, so they
// never reach a disk; empty when there is none and the caller must use a disk.
std::filesystem::path memory_backed_dir();

} // namespace tdx::core
