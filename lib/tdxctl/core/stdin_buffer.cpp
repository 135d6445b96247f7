#include "tdxctl/core/stdin_buffer.hpp"

#include "tdxctl/core/fd_read.hpp"
#include "tdxctl/core/huge_pages.hpp"

#include <algorithm>
#include <cerrno>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

namespace tdx::core {

StdinBuffer::StdinBuffer(StdinBuffer&& other) noexcept
    : m_data(std::exchange(other.m_data, nullptr)), m_size(std::exchange(other.m_size, 0)),
      m_capacity(std::exchange(other.m_capacity, 0)) {}

StdinBuffer& StdinBuffer::operator=(StdinBuffer&& other) noexcept {
  if (this != &other) {
    if (m_data) ::munmap(m_data, m_capacity);
    m_data = std::exchange(other.m_data, nullptr);
    m_size = std::exchange(other.m_size, 0);
    m_capacity = std::exchange(other.m_capacity, 0);
  }
  return *this;
}

StdinBuffer::~StdinBuffer() {
  if (m_data) ::munmap(m_data, m_capacity);
}

// Maps (or remaps, keeping what was read) `capacity` bytes.
bool StdinBuffer::grow(size_t capacity) {
  void* p = m_data ? ::mremap(m_data, m_capacity, capacity, MREMAP_MAYMOVE)
                   : ::mmap(nullptr, capacity, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return false;
  (void)::madvise(p, capacity, MADV_HUGEPAGE); // advice: refused where THP is off, and then 4 KiB pages
  m_data = static_cast<char*>(p);
  m_capacity = capacity;
  return true;
}

Result<StdinBuffer> StdinBuffer::read() {
  StdinBuffer b;
  struct stat st {};
  // A regular file: its size and one more byte (a file that grew is read
  // to its end); a pipe starts at one huge page and doubles.
  size_t want = ::fstat(STDIN_FILENO, &st) == 0 && S_ISREG(st.st_mode) ? static_cast<size_t>(st.st_size) + 1 : k_huge_page;
  if (!b.grow(round_up_to_huge_page(want))) return file_unreadable("standard input", errno);
  for (;;) {
    if (b.m_size == b.m_capacity && !b.grow(2 * b.m_capacity)) return file_unreadable("standard input", errno);
    ssize_t n = ::read(STDIN_FILENO, b.m_data + b.m_size, std::min<size_t>(b.m_capacity - b.m_size, size_t{1} << 30));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return file_unreadable("standard input", errno);
    if (n == 0) break;
    b.m_size += static_cast<size_t>(n);
  }
  return b;
}

} // namespace tdx::core
