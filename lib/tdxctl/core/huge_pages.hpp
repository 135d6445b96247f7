#pragma once
// Memory in 2 MiB pages (transparent huge pages, which Debian's kernel gives
// to memory advised MADV_HUGEPAGE). On the development VM, a PVM guest, the
// first touch of each 4 KiB page is a fault that costs 10-30 us: a
// 3,000-quote `quote verify` took ~800 faults, half of them for fresh heap
// (the file names CLI11 copies, the read buffers, the reports), ~10 ms of a
// ~365 ms batch. A 2 MiB page is one fault for 512 such pages. Where the
// kernel gives no huge pages the advice is refused and this is plain
// memory: nothing depends on it but speed.

#include <cstddef>

namespace tdx::core {

inline constexpr size_t k_huge_page = size_t{2} << 20;
// `n` rounded up to whole 2 MiB pages.
constexpr size_t round_up_to_huge_page(size_t n) { return (n + k_huge_page - 1) & ~(k_huge_page - 1); }

// An anonymous read-write mapping that starts on a 2 MiB boundary and is
// advised MADV_HUGEPAGE; its pages cost nothing until touched.
class HugePages {
public:
  HugePages() = default;
  // `bytes` rounded up to whole 2 MiB pages; empty (false) when mmap fails.
  static HugePages map(size_t bytes);
  HugePages(HugePages&& other) noexcept;
  HugePages& operator=(HugePages&& other) noexcept;
  HugePages(const HugePages&) = delete;
  HugePages& operator=(const HugePages&) = delete;
  ~HugePages();

  explicit operator bool() const { return m_data != nullptr; }
  char* data() const { return m_data; }
  size_t size() const { return m_size; }
  // Gives the mapping up without unmapping it (memory the kernel may still
  // write into, such as the buffers of a failed io_uring's requests).
  void leak();

private:
  char* m_data = nullptr;
  size_t m_size = 0;
};

// Puts the rest of glibc's main heap in huge pages: grows it by 16 MiB at a
// time, never gives it back, skips to the next 2 MiB boundary and advises
// it. Called first thing in main, before the command line is parsed. Does
// nothing under AddressSanitizer (its own allocator) or outside glibc.
void use_huge_pages_for_heap();

} // namespace tdx::core
