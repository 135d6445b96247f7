// Escaping by bytes, after a UTF-8 decode: valid text (names in any script)
// passes unchanged, and only what a terminal would act on is rewritten.
#include "tdxctl/core/terminal_text.hpp"

#include <fmt/format.h>

#include <cstdint>

namespace tdx::core {
namespace {

// The length of the valid UTF-8 sequence at text[i] (RFC 3629: no overlong
// forms, no surrogates, at most U+10FFFF), or 0.
size_t utf8_sequence(std::string_view text, size_t i, uint32_t& code_point) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char b = byte(i);
  size_t len = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 0;
  if (len == 0 || b > 0xf4 || i + len > text.size()) return 0;
  code_point = b & (0x7f >> len);
  for (size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
    code_point = (code_point << 6) | (byte(i + k) & 0x3f);
  }
  static constexpr uint32_t min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
  if (code_point < min_for_len[len] || code_point > 0x10ffff || (code_point >= 0xd800 && code_point <= 0xdfff))
    return 0;
  return len;
}

} // namespace

std::string escape_control(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  append_escaped_control(text, out);
  return out;
}

void append_escaped_control(std::string_view text, std::string& out) {
  auto escape = [&](size_t from, size_t n) {
    for (size_t k = from; k < from + n; ++k) out += fmt::format("\\x{:02x}", static_cast<unsigned char>(text[k]));
  };
  for (size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) escape(i, 1);
      else out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    uint32_t cp = 0;
    size_t len = utf8_sequence(text, i, cp);
    if (len == 0) {
      escape(i, 1);
      ++i;
    } else {
      if (cp >= 0x80 && cp <= 0x9f) escape(i, len);
      else out.append(text.substr(i, len));
      i += len;
    }
  }
}

} // namespace tdx::core
