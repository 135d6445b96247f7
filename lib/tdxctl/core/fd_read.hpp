#pragma once
// Reading an open file to its end, and the error of a file that cannot be
// read: shared by read_file_into (core/fs) and the batch reader
// (core/file_batch), which reads on with it where its ring stopped.

#include "tdxctl/core/error.hpp"

#include <cstddef>
#include <filesystem>
#include <string>

namespace tdx::core {

// Appends what `fd` holds from its position to its end to `out`, retrying
// EINTR. `expect`: the size a regular file reported (0 when unknown); with
// that many bytes read and room left, the read that would return 0 is
// skipped (a regular file reads short only at its end). False with errno
// set, `out` as it was, on a read error.
bool append_to_end(int fd, std::string& out, size_t expect = 0);

// file.unreadable: "cannot read PATH: <strerror(error)>".
std::unexpected<Error> file_unreadable(const std::filesystem::path& path, int error);

} // namespace tdx::core
