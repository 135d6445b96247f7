#include "tdxctl/core/huge_pages.hpp"

#include <cstdint>
#include <cstdlib>
#include <utility>

#include <sys/mman.h>
#include <unistd.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace tdx::core {

HugePages HugePages::map(size_t bytes) {
  HugePages out;
  const size_t size = round_up_to_huge_page(bytes == 0 ? 1 : bytes);
  // mmap aligns to 4 KiB only: map one huge page more and unmap the ends.
  void* p = ::mmap(nullptr, size + k_huge_page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return out;
  const auto base = reinterpret_cast<uintptr_t>(p);
  const uintptr_t start = round_up_to_huge_page(base);
  if (start > base) ::munmap(p, start - base);
  if (const uintptr_t end = base + size + k_huge_page; end > start + size)
    ::munmap(reinterpret_cast<void*>(start + size), end - start - size);
  (void)::madvise(reinterpret_cast<void*>(start), size, MADV_HUGEPAGE); // refused where THP is off
  out.m_data = reinterpret_cast<char*>(start);
  out.m_size = size;
  return out;
}

HugePages::HugePages(HugePages&& other) noexcept
    : m_data(std::exchange(other.m_data, nullptr)), m_size(std::exchange(other.m_size, 0)) {}

HugePages& HugePages::operator=(HugePages&& other) noexcept {
  if (this != &other) {
    if (m_data) ::munmap(m_data, m_size);
    m_data = std::exchange(other.m_data, nullptr);
    m_size = std::exchange(other.m_size, 0);
  }
  return *this;
}

HugePages::~HugePages() {
  if (m_data) ::munmap(m_data, m_size);
}

void HugePages::leak() {
  m_data = nullptr;
  m_size = 0;
}

void use_huge_pages_for_heap() {
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
  // The heap (brk) is one mapping; a huge page needs a whole aligned 2 MiB
  // of it, not yet touched. glibc grows the heap by the request plus
  // M_TOP_PAD and writes the new top chunk's header just past the request:
  // so the heap is grown by a request that only just does not fit (the
  // header lands near the old end, in pages already in use), the block up
  // to the next 2 MiB boundary is taken and kept (never touched past its
  // header: it costs address space only), and what lies after is advised.
  // An extension a new brk makes later is a mapping of its own in 4 KiB
  // pages; 16 MiB is far more than a batch verify uses.
  constexpr size_t k_pad = size_t{16} << 20;
  if (mallopt(M_TOP_PAD, static_cast<int>(k_pad)) != 1) return;
  (void)mallopt(M_TRIM_THRESHOLD, 256 << 20);  // a trim would split the huge pages
  (void)mallopt(M_MMAP_THRESHOLD, 8 << 20);    // buffers up to 8 MiB come from the heap too
  const auto old_end = reinterpret_cast<uintptr_t>(::sbrk(0));
  void* volatile grow = std::malloc(mallinfo2().keepcost + 64); // volatile: the pair must not be optimised out
  std::free(grow);
  const auto end = reinterpret_cast<uintptr_t>(::sbrk(0));
  const struct mallinfo2 info = mallinfo2();
  const uintptr_t top = end - info.keepcost; // the top chunk: the free end of the heap
  const uintptr_t start = (end - info.arena) & ~uintptr_t{4095};
  const uintptr_t boundary = round_up_to_huge_page(old_end + 4096);
  if (end < boundary + k_huge_page || top > boundary || start > top) return; // not the layout above: leave it
  if (boundary - top > 64) {
    void* volatile skip = std::malloc(boundary - top - 32); // its chunk ends where the next begins: the boundary
    (void)skip;
  }
  (void)::madvise(reinterpret_cast<void*>(start), end - start, MADV_HUGEPAGE);
#endif
}

} // namespace tdx::core
