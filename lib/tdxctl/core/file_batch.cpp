// Three io_uring submissions a batch: the opens; for each opened file a read
// of up to k_slot bytes hard-linked to a probe read at the file position
// (offset -1); the closes. The probe is what makes a short first read safe
// to take as the whole file without an fstat: a regular file answers it with
// 0 at its end, while a pipe or a file bigger than the slot answers with
// more bytes, and is then read on with plain reads before it is closed.
#include "tdxctl/core/file_batch.hpp"

#include "tdxctl/core/fd_read.hpp"
#include "tdxctl/core/fs.hpp"
#include "tdxctl/liburing/api.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>
#include <vector>

namespace tdx::core {

namespace {

// Below this many files a ring (and liburing's first load) costs more than
// the system calls it saves.
constexpr size_t k_min_ring_batch = 4;
constexpr size_t k_probe = 256;

void read_plain(FileBatchReader::File& f) {
  f.result = read_file_into(*f.path, f.spill);
  f.content = f.result ? std::string_view(f.spill) : std::string_view();
}

} // namespace

struct FileBatchReader::Ring {
  io_uring ring{};
  const liburing::Api* api = nullptr;
  bool live = false; // io_uring_queue_init_params succeeded
  std::array<std::array<char, k_probe>, k_batch> probes{};
  std::array<int, k_batch> fd{}, got{}, probe{};

  ~Ring() {
    if (live) api->io_uring_queue_exit(&ring);
  }

  // Submits what is queued and waits until `want` completions are there
  // (a signal only makes it wait again); then `each(user_data, res)` for
  // every one. False when the ring itself failed.
  template <class Each> bool complete(unsigned want, Each each) {
    while (io_uring_cq_ready(&ring) < want) {
      int r = api->io_uring_submit_and_wait(&ring, want);
      if (r < 0 && r != -EINTR && r != -EAGAIN) return false;
    }
    io_uring_cqe* cqe;
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&ring, head, cqe) {
      each(cqe->user_data, cqe->res);
      ++seen;
    }
    io_uring_cq_advance(&ring, seen);
    return seen == want;
  }
};

FileBatchReader::FileBatchReader(bool use_ring) : m_ring_tried(!use_ring) {}
FileBatchReader::~FileBatchReader() = default;

size_t FileBatchReader::files_per_read(size_t readers) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  // Room for what the process holds besides (stdio, the collateral, each
  // reader's ring) and for a plain read's one file.
  constexpr rlim_t k_reserve = 64;
  if (limit.rlim_cur == RLIM_INFINITY) return k_batch;
  rlim_t room = limit.rlim_cur > k_reserve ? limit.rlim_cur - k_reserve : 0;
  return std::clamp<size_t>(static_cast<size_t>(room) / std::max<size_t>(readers, 1), 1, k_batch);
}

bool FileBatchReader::ring_ready() {
  if (m_ring) return true;
  if (m_ring_tried) return false;
  m_ring_tried = true;
  const liburing::Api* api;
  try {
    api = &liburing::api();
  } catch (const Failure&) {
    return false; // liburing2 not installed: plain system calls
  }
  auto ring = std::make_unique<Ring>();
  ring->api = api;
  // The flags that spare the kernel work on behalf of one submitting thread
  // (6.1, then 5.19); older kernels refuse them with EINVAL, then plain.
  for (unsigned flags : {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
                         unsigned{IORING_SETUP_COOP_TASKRUN}, 0u}) {
    io_uring_params params{};
    params.flags = flags;
    int r = api->io_uring_queue_init_params(2 * k_batch, &ring->ring, &params);
    if (r == -EINVAL) continue;
    if (r < 0) return false; // ENOSYS, EPERM (seccomp, io_uring_disabled): plain system calls
    ring->live = true;
    // Reads at the file position (offset -1) arrived with 5.6, with the
    // openat and close operations this needs; before 5.12 (native workers)
    // an open that went to an io-wq thread could not resolve /proc/self or
    // /dev/fd/N (`<(command)`), which the plain open can.
    if (!(params.features & IORING_FEAT_RW_CUR_POS) || !(params.features & IORING_FEAT_NATIVE_WORKERS))
      return false;
    // The inline helpers come from the build's liburing header; a library
    // older than it leaves the ring fields they read unset (io_uring_get_sqe
    // would then hand out nothing). Every submission takes at most
    // 2 * k_batch entries.
    if (ring->ring.sq.ring_entries < 2 * k_batch || ring->ring.cq.ring_mask == 0) return false;
    m_ring = std::move(ring);
    return true;
  }
  return false;
}

void FileBatchReader::read(std::span<File> files) {
  m_used_ring = files.size() >= k_min_ring_batch && ring_ready();
  if (!m_used_ring) {
    for (auto& f : files) read_plain(f);
    return;
  }
  if (m_slots.size() < files.size() * k_slot) m_slots = HugePages::map(files.size() * k_slot);
  m_used_ring = static_cast<bool>(m_slots);
  size_t at = 0;
  for (; at < files.size() && m_ring && m_slots; at += k_batch)
    read_batch(files.subspan(at, std::min(k_batch, files.size() - at)), m_slots.data() + at * k_slot);
  for (; at < files.size(); ++at) read_plain(files[at]); // the ring failed (or no memory): the rest the plain way
  if (!m_ring) m_slots.leak(); // in-flight requests of a failed ring may still write there
}

void FileBatchReader::read_batch(std::span<File> files, char* slots) {
  Ring& r = *m_ring;
  const auto n = static_cast<unsigned>(files.size());
  auto give_up = [&](std::span<File> unread) {
    // The ring itself failed (not seen in practice). Requests may still be in
    // flight into its probes and this batch's slots, on files it holds open:
    // the ring, its files and the slots are left as they are (leaked, never
    // freed or closed under the kernel), and the rest is read the plain way.
    (void)m_ring.release();
    m_used_ring = false;
    for (auto& f : unread) read_plain(f);
  };

  r.fd.fill(-1);
  for (unsigned k = 0; k < n; ++k) {
    io_uring_sqe* sqe = io_uring_get_sqe(&r.ring);
    io_uring_prep_openat(sqe, AT_FDCWD, files[k].path->c_str(), O_RDONLY | O_CLOEXEC, 0);
    sqe->user_data = k;
  }
  if (!r.complete(n, [&](uint64_t k, int res) {
        if (k < n) r.fd[k] = res;
      }))
    return give_up(files);

  unsigned reads = 0;
  for (unsigned k = 0; k < n; ++k) {
    if (r.fd[k] < 0) continue;
    io_uring_sqe* sqe = io_uring_get_sqe(&r.ring);
    io_uring_prep_read(sqe, r.fd[k], slots + k * k_slot, k_slot, -1);
    sqe->flags |= IOSQE_IO_HARDLINK; // a short read must not cancel the probe
    sqe->user_data = 2 * k;
    sqe = io_uring_get_sqe(&r.ring);
    io_uring_prep_read(sqe, r.fd[k], r.probes[k].data(), k_probe, -1);
    sqe->user_data = 2 * k + 1;
    reads += 2;
  }
  if (!r.complete(reads, [&](uint64_t d, int res) {
        if (d < 2 * n) (d % 2 ? r.probe : r.got)[d / 2] = res;
      }))
    return give_up(files);

  unsigned closes = 0;
  for (unsigned k = 0; k < n; ++k) {
    File& f = files[k];
    const int fd = r.fd[k];
    f.content = {};
    if (fd < 0) {
      // Whatever the ring's open met (EMFILE with many workers, an io-wq
      // worker it could not start, a signal), the plain open decides, with
      // its own error.
      read_plain(f);
      continue;
    }
    if (r.got[k] < 0) {
      // Nothing was taken from the file: the plain read decides (EISDIR for
      // a directory, with the plain path's message).
      io_uring_prep_close(io_uring_get_sqe(&r.ring), fd);
      ++closes;
      read_plain(f);
      continue;
    }
    if (r.probe[k] < 0) f.result = file_unreadable(*f.path, -r.probe[k]); // bytes taken: not read again
    else if (r.probe[k] == 0) {
      f.content = {slots + k * k_slot, static_cast<size_t>(r.got[k])};
      f.result = {};
    } else {
      // More than the slot held (a big file, or a pipe that had more to say).
      f.spill.assign(slots + k * k_slot, static_cast<size_t>(r.got[k]));
      f.spill.append(r.probes[k].data(), static_cast<size_t>(r.probe[k]));
      if (append_to_end(fd, f.spill)) {
        f.content = f.spill;
        f.result = {};
      } else f.result = file_unreadable(*f.path, errno);
    }
    io_uring_prep_close(io_uring_get_sqe(&r.ring), fd);
    ++closes;
  }
  // Read-only files: a close has nothing to lose, its results are only
  // collected. A ring that fails here keeps the files it did not close.
  if (closes && !r.complete(closes, [](uint64_t, int) {})) give_up({});
}

} // namespace tdx::core
