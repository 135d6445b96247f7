// core/huge_pages: mappings on 2 MiB boundaries advised MADV_HUGEPAGE, and
// glibc's heap advised past its next boundary. The kernel's own view
// (/proc/self/smaps: the mapping's range and its "hg" flag) is what is
// checked; where THP is off ("[never]") the advice is all there is to see.
#include "tdxctl/core/huge_pages.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

using namespace tdx;

namespace {

constexpr uintptr_t k_huge = uintptr_t{2} << 20;

struct Vma {
  uintptr_t start = 0, end = 0;
  std::string flags;
};

// The mapping that holds `p`, as /proc/self/smaps gives it.
std::optional<Vma> vma_of(const void* p) {
  const auto at = reinterpret_cast<uintptr_t>(p);
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  std::optional<Vma> found;
  while (std::getline(smaps, line)) {
    if (line.starts_with("VmFlags:")) {
      if (found) {
        found->flags = line.substr(8);
        return found;
      }
      continue;
    }
    uintptr_t start = 0, end = 0;
    char dash = 0;
    std::istringstream in(line);
    if ((in >> std::hex >> start >> dash >> end) && dash == '-' && start <= at && at < end) found = Vma{start, end, {}};
  }
  return found;
}

bool advised(const Vma& v) { return (" " + v.flags + " ").find(" hg ") != std::string::npos; }

} // namespace

TEST_CASE("HugePages: whole 2 MiB pages on a 2 MiB boundary, advised, unmapped when dropped", "[core]") {
  auto one = core::HugePages::map(1);
  REQUIRE(one);
  CHECK(one.size() == k_huge);
  CHECK(reinterpret_cast<uintptr_t>(one.data()) % k_huge == 0);
  auto three = core::HugePages::map(3 << 20);
  REQUIRE(three);
  CHECK(three.size() == 2 * k_huge);
  CHECK(reinterpret_cast<uintptr_t>(three.data()) % k_huge == 0);
  std::memset(three.data(), 0x5a, three.size()); // all of it writable
  CHECK(three.data()[three.size() - 1] == 0x5a);

  auto vma = vma_of(three.data());
  REQUIRE(vma);
  CHECK(vma->start <= reinterpret_cast<uintptr_t>(three.data()));
  CHECK(vma->end >= reinterpret_cast<uintptr_t>(three.data()) + three.size());
  CHECK(advised(*vma));

  // Moved: the new owner has it, the old one is empty; dropped: unmapped.
  const char* at = three.data();
  core::HugePages moved = std::move(three);
  CHECK_FALSE(three);
  CHECK(moved.data() == at);
  moved = core::HugePages{};
  CHECK_FALSE(vma_of(at));
}

TEST_CASE("use_huge_pages_for_heap: what malloc gives next lies in advised heap past a 2 MiB boundary", "[core]") {
#if defined(__SANITIZE_ADDRESS__)
  WARN("AddressSanitizer's allocator is not glibc's heap: nothing to advise");
#else
  core::use_huge_pages_for_heap();
  // A block no free chunk can hold comes from the top of the heap.
  void* volatile block = std::malloc(size_t{1} << 20);
  REQUIRE(block);
  auto vma = vma_of(block);
  REQUIRE(vma);
  CHECK(advised(*vma));
  // The block's first 2 MiB page lies wholly inside the advised mapping.
  const uintptr_t page = reinterpret_cast<uintptr_t>(block) & ~(k_huge - 1);
  CHECK(page >= vma->start);
  CHECK(page + k_huge <= vma->end);
  std::free(block);
#endif
}
