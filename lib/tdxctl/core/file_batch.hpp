#pragma once
// Reading many small files whole (a batch `quote verify` over thousands of
// quote files). Per file, open + fstat + read + close are four system calls,
// and on the development VM each costs ~1 us of entry and exit on top of its
// work: measured 7.4-9.2 us a file, 2-4 % of a batch verify. With io_uring a
// batch of files is opened in one submission, read (whole, plus a probe read
// that must return 0 at end of file) in a second, and closed in a third:
// measured 3.1-3.2 us a file. Where io_uring is missing (liburing2 not
// installed or older than the build's, a kernel before 5.12, a seccomp
// profile that forbids it) or for a handful of files, the reader uses
// read_file_into. A file the ring cannot open or read is read again that
// way, so errors (and EMFILE with many workers) come out as the plain path
// gives them. One difference remains: the ring opens without blocking, so
// a FIFO that has no writer reads as empty instead of waiting for one.
//
// A reader belongs to one thread (its ring is set up single-issuer).

#include "tdxctl/core/error.hpp"
#include "tdxctl/core/huge_pages.hpp"

#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace tdx::core {

class FileBatchReader {
public:
  struct File {
    const std::string* path = nullptr; // as the user gave it (opened relative to the cwd)
    Result<void> result;               // file.unreadable naming the path, as read_file_into
    // The bytes, valid until the next read(): in the reader's own slot, or
    // in `spill` (a file bigger than a slot, or read without the ring).
    std::string_view content;
    std::string spill; // reused, with its capacity, when the File is reused
  };

  // Files at most this big are read in one go; a bigger file (or a pipe that
  // had more to say) is read on to its end with plain reads.
  static constexpr size_t k_slot = 32 << 10;
  // Files per submission.
  static constexpr size_t k_batch = 32;

  // use_ring = false: plain system calls only (tests compare the two paths).
  explicit FileBatchReader(bool use_ring = true);
  ~FileBatchReader();
  FileBatchReader(const FileBatchReader&) = delete;
  FileBatchReader& operator=(const FileBatchReader&) = delete;

  // Reads every file; each File's result says how that one went. Nothing is
  // copied out of the slots, which (with their pages) are reused each batch:
  // on the development VM a page touched for the first time costs ~10 us.
  void read(std::span<File> files);

  // How many files each of `readers` concurrent readers may hold open at
  // once (at most k_batch), after raising the soft limit on open files to
  // the hard one, as Go's runtime does: with many workers a batch of 32 open
  // files each would otherwise meet EMFILE under the usual soft 1024.
  static size_t files_per_read(size_t readers);

  // Whether the last read() went through io_uring (for tests and benchmarks).
  bool used_ring() const { return m_used_ring; }

private:
  struct Ring;
  bool ring_ready();
  void read_batch(std::span<File> files, char* slots);

  bool m_used_ring = false;
  std::unique_ptr<Ring> m_ring; // null until a batch is big enough; a failed set-up stays null
  // One slot per file of a read(), since its views outlive its batches;
  // pages never written cost nothing, and the slots of a batch of 32 share
  // one huge page (one fault instead of ~64; core/huge_pages).
  HugePages m_slots;
  bool m_ring_tried; // set up once (or never, for use_ring = false)
};

} // namespace tdx::core
