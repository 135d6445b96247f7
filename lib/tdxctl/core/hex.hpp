#pragma once
// Strict hex and base64 codecs (OpenSSL underneath). Strict means: odd
// length, stray characters or bad padding are errors naming the position,
// never silently skipped.

#include "tdxctl/core/error.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tdx::core {

using Bytes = std::vector<uint8_t>;

std::string to_hex(std::span<const uint8_t> bytes);
// The same lowercase digits appended to `out` (no string of its own).
void append_hex(std::span<const uint8_t> bytes, std::string& out);
Result<Bytes> from_hex(std::string_view text, std::string_view what = "hex value");
std::string base64_encode(std::span<const uint8_t> bytes);
// A bad character is named at its position in `text` plus `position_base`
// (where `text` starts in what the user gave, when it is a piece of it).
// Spaces, tabs and line ends (C's isspace) between the digits are skipped.
Result<Bytes> base64_decode(std::string_view text, std::string_view what = "base64 value",
                            size_t position_base = 0);

inline std::span<const uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

} // namespace tdx::core
