#pragma once
// Standard input read whole into memory of its own: anonymous pages advised
// to be transparent huge pages, read with read(2) in large blocks. A
// JSON-lines batch of 3,000 quotes is ~20 MB; read into a std::string it
// took ~5,000 page faults (10-30 us each on a PVM guest, more than a third
// of the batch) and a stream read it a character at a time (~60
// instructions a byte). Where the kernel has no huge pages this is plain
// anonymous memory.

#include "tdxctl/core/error.hpp"

#include <cstddef>
#include <string_view>

namespace tdx::core {

class StdinBuffer {
public:
  // Reads standard input to its end.
  static Result<StdinBuffer> read();

  StdinBuffer(StdinBuffer&& other) noexcept;
  StdinBuffer& operator=(StdinBuffer&& other) noexcept;
  StdinBuffer(const StdinBuffer&) = delete;
  StdinBuffer& operator=(const StdinBuffer&) = delete;
  ~StdinBuffer();

  std::string_view view() const { return {m_data, m_size}; }

private:
  StdinBuffer() = default;
  bool grow(size_t capacity);

  char* m_data = nullptr;
  size_t m_size = 0, m_capacity = 0;
};

} // namespace tdx::core
