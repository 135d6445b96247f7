#pragma once
// The liburing API as tdxctl uses it (core/file_batch: many small files read
// with a few io_uring submissions). Every exported call goes through api():
// liburing.so.2 is opened on first use (core::SharedLibrary), so commands
// that read no batch never map it, and a host without it (or a kernel or
// seccomp profile without io_uring) falls back to plain system calls.
// liburing's inline helpers (io_uring_get_sqe, io_uring_prep_*, the CQE
// loop) live in the header and call nothing exported; the members are
// declared from that header (decltype), so a signature cannot drift.

#include <liburing.h>

#include "tdxctl/core/shared_library.hpp"

namespace tdx::liburing {

#define TDX_LIBURING_FUNCTIONS(X) \
  X(io_uring_queue_init_params) \
  X(io_uring_queue_exit) \
  X(io_uring_submit_and_wait)

struct Api {
  TDX_LIBURING_FUNCTIONS(TDX_API_MEMBER)
};

// Opens liburing.so.2 on first use; throws core::Failure (not_ready,
// core.library) when it is missing.
const Api& api();

} // namespace tdx::liburing
