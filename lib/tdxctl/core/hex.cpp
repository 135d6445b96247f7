// Hex and base64: encoding through OpenSSL, decoding here with strict
// errors that name the position.
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

namespace {

// Base64 is decoded here rather than by EVP_DecodeBlock: a quote in a
// JSON-lines batch is ~6.6 KB of it, and OpenSSL's loop (a function call a
// character) cost ~16 instructions a byte, more than parsing the line.
enum : uint8_t { k_pad = 64, k_space = 65, k_invalid = 66 };
constexpr auto k_base64 = [] {
  std::array<uint8_t, 256> t{};
  t.fill(k_invalid);
  constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (uint8_t v = 0; v < 64; ++v) t[static_cast<unsigned char>(alphabet[v])] = v;
  t['='] = k_pad;
  for (char c : {' ', '\n', '\r', '\t'}) t[static_cast<unsigned char>(c)] = k_space;
  return t;
}();

// `clean` is checked: digits only, a multiple of 4 long, at most two '='
// at its end. Four digits at a time into three bytes.
Bytes decode_clean(std::string_view clean) {
  const size_t n = clean.size();
  const size_t padding = n >= 2 && clean[n - 2] == '=' ? 2 : n >= 1 && clean[n - 1] == '=' ? 1 : 0;
  Bytes out(n / 4 * 3 - padding);
  const auto* in = reinterpret_cast<const unsigned char*>(clean.data());
  uint8_t* o = out.data();
  auto v = [](unsigned char c) { return uint32_t{k_base64[c]}; };
  for (size_t q = (n - (padding ? 4 : 0)) / 4; q > 0; --q, in += 4, o += 3) {
    const uint32_t w = v(in[0]) << 18 | v(in[1]) << 12 | v(in[2]) << 6 | v(in[3]);
    o[0] = static_cast<uint8_t>(w >> 16);
    o[1] = static_cast<uint8_t>(w >> 8);
    o[2] = static_cast<uint8_t>(w);
  }
  if (padding) {
    const uint32_t w = v(in[0]) << 18 | v(in[1]) << 12 | (padding == 1 ? v(in[2]) << 6 : 0);
    o[0] = static_cast<uint8_t>(w >> 16);
    if (padding == 1) o[1] = static_cast<uint8_t>(w >> 8);
  }
  return out;
}

} // namespace

Result<Bytes> base64_decode(std::string_view text, std::string_view what) {
  // The common text, digits then at most two '=', is checked in one pass
  // and decoded in place.
  size_t end = text.size();
  while (end > 0 && text.size() - end < 2 && text[end - 1] == '=') --end;
  uint8_t seen = 0;
  for (size_t i = 0; i < end; ++i) seen |= k_base64[static_cast<unsigned char>(text[i])];
  if (seen < k_pad && text.size() % 4 == 0) return decode_clean(text);

  // Anything else is checked whole, so each error names what it always
  // named: a bad character at its place in the text as given, then the
  // length and the padding of the digits without whitespace.
  std::string clean;
  clean.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const uint8_t v = k_base64[static_cast<unsigned char>(text[i])];
    if (v == k_invalid)
      return fail(Category::invalid_input, "base64.bad_char",
                  std::string(what) + ": invalid base64 character at position " + std::to_string(i));
    if (v != k_space) clean += text[i];
  }
  if (clean.size() % 4)
    return fail(Category::invalid_input, "base64.bad_length",
                std::string(what) + ": base64 length " + std::to_string(clean.size()) + " is not a multiple of 4");
  auto pad = clean.find('=');
  if (pad != std::string::npos && (clean.size() - pad > 2 || clean.find_first_not_of('=', pad) != std::string::npos))
    return fail(Category::invalid_input, "base64.bad_padding",
                std::string(what) + ": misplaced '=' padding at position " + std::to_string(pad));
  return decode_clean(clean);
}

} // namespace tdx::core
