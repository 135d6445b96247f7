// Reading into the string's own buffer, grown by doubling: one allocation
// sized from the file when its size is known, no copy through a stack buffer.
#include "tdxctl/core/fd_read.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unistd.h>

namespace tdx::core {

bool append_to_end(int fd, std::string& out, size_t expect) {
  const size_t start = out.size();
  size_t have = start;
  out.resize(start + std::max<size_t>(expect + 1, 4096)); // +1: a file that grew is read to its end
  for (;;) {
    if (have == out.size()) out.resize(out.size() * 2);
    ssize_t n = ::read(fd, out.data() + have, out.size() - have);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      out.resize(start);
      errno = e;
      return false;
    }
    if (n == 0) break;
    have += static_cast<size_t>(n);
    if (expect != 0 && have - start >= expect && have < out.size()) break;
  }
  out.resize(have);
  return true;
}

std::unexpected<Error> file_unreadable(const std::filesystem::path& path, int error) {
  return fail(Category::invalid_input, "file.unreadable", "cannot read " + path.string() + ": " + std::strerror(error));
}

} // namespace tdx::core
