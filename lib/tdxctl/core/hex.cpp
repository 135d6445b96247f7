// Hex and base64. EVP_DecodeBlock counts padding in its returned length and
// accepts whitespace, so padding is corrected and whitespace stripped first.
#include "tdxctl/core/hex.hpp"

#include <openssl/evp.h>

#include <array>
#include <cstring>

namespace tdx::core {

void append_hex(std::span<const uint8_t> bytes, std::string& out) {
  // Two digits a byte from one table, into space that is not zeroed first:
  // a report writes ~20 of these a quote.
  static constexpr auto pairs = [] {
    constexpr char digits[] = "0123456789abcdef";
    std::array<char, 512> t{};
    for (size_t i = 0; i < 256; ++i) {
      t[2 * i] = digits[i >> 4];
      t[2 * i + 1] = digits[i & 15];
    }
    return t;
  }();
  const size_t at = out.size(), end = at + 2 * bytes.size();
  // The length is the one asked for, not the callback's second argument:
  // libstdc++ 12 passes the grown capacity there when it reallocates.
  out.resize_and_overwrite(end, [&](char* p, size_t) {
    p += at;
    for (uint8_t b : bytes) {
      std::memcpy(p, &pairs[2 * size_t{b}], 2);
      p += 2;
    }
    return end;
  });
}

std::string to_hex(std::span<const uint8_t> bytes) {
  std::string out;
  append_hex(bytes, out);
  return out;
}

Result<Bytes> from_hex(std::string_view text, std::string_view what) {
  if (text.size() % 2)
    return fail(Category::invalid_input, "hex.odd_length",
                std::string(what) + ": odd number of hex digits (" +
                    std::to_string(text.size()) + ")");
  Bytes out(text.size() / 2);
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < text.size(); i += 2) {
    int hi = nibble(text[i]), lo = nibble(text[i + 1]);
    if (hi < 0 || lo < 0)
      return fail(Category::invalid_input, "hex.bad_digit",
                  std::string(what) + ": not a hex digit at position " +
                      std::to_string(hi < 0 ? i : i + 1));
    out[i / 2] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

std::string base64_encode(std::span<const uint8_t> bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

Result<Bytes> base64_decode(std::string_view text, std::string_view what) {
  std::string clean;
  clean.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/' || c == '=';
    if (!ok)
      return fail(Category::invalid_input, "base64.bad_char",
                  std::string(what) + ": invalid base64 character at position " +
                      std::to_string(i));
    clean += c;
  }
  if (clean.size() % 4)
    return fail(Category::invalid_input, "base64.bad_length",
                std::string(what) + ": base64 length " + std::to_string(clean.size()) +
                    " is not a multiple of 4");
  auto pad = clean.find('=');
  if (pad != std::string::npos && (clean.size() - pad > 2 ||
                                   clean.find_first_not_of('=', pad) != std::string::npos))
    return fail(Category::invalid_input, "base64.bad_padding",
                std::string(what) + ": misplaced '=' padding at position " + std::to_string(pad));
  Bytes out(clean.size() / 4 * 3);
  int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(clean.data()),
                          static_cast<int>(clean.size()));
  if (n < 0)
    return fail(Category::invalid_input, "base64.invalid", std::string(what) + ": invalid base64");
  size_t padding = pad == std::string::npos ? 0 : clean.size() - pad;
  out.resize(static_cast<size_t>(n) - padding);
  return out;
}

} // namespace tdx::core
