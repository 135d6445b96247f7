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
constexpr char k_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// What each character is, for the checks that name an error.
enum : uint8_t { k_pad = 64, k_space = 65, k_invalid = 66 };
constexpr auto k_class = [] {
  std::array<uint8_t, 256> t{};
  t.fill(k_invalid);
  for (uint8_t v = 0; v < 64; ++v) t[static_cast<unsigned char>(k_alphabet[v])] = v;
  t['='] = k_pad;
  for (char c : {' ', '\t', '\n', '\v', '\f', '\r'}) t[static_cast<unsigned char>(c)] = k_space; // isspace in C
  return t;
}();

// One table per place in a quantum of four digits, giving the digit's six
// bits where they land in its three bytes (byte 0 in bits 0-7, byte 1 in
// 8-15, byte 2 in 16-23), and bit 24 for anything that is not a digit. A
// quantum is then three ORs, which check it too (the method of modp_b64):
// one pass, ~1.6 us for a quote's 6.6 KB against ~3.9 us for a check pass
// and a shifting decode pass.
constexpr uint32_t k_not_digit = 1u << 24;
constexpr auto k_place = [] {
  std::array<std::array<uint32_t, 256>, 4> t{};
  for (auto& place : t) place.fill(k_not_digit);
  for (uint32_t v = 0; v < 64; ++v) {
    const auto c = static_cast<unsigned char>(k_alphabet[v]);
    t[0][c] = v << 2;
    t[1][c] = v >> 4 | (v & 0xf) << 12;
    t[2][c] = (v >> 2) << 8 | (v & 3) << 22;
    t[3][c] = v << 16;
  }
  return t;
}();

// Decodes `text` into `out` when it is digits only, a multiple of 4 long,
// with at most two '=' at its end; false otherwise (`out` then holds junk).
bool decode_quanta(std::string_view text, Bytes& out) {
  const size_t n = text.size();
  if (n % 4) return false;
  if (n == 0) {
    out.clear();
    return true;
  }
  const size_t padding = text[n - 1] != '=' ? 0 : text[n - 2] == '=' ? 2 : 1;
  out.resize(n / 4 * 3 - padding);
  const auto* in = reinterpret_cast<const unsigned char*>(text.data());
  uint8_t* o = out.data();
  uint32_t seen = 0;
  auto put = [&](uint32_t x, size_t bytes) {
    seen |= x;
    for (size_t b = 0; b < bytes; ++b) o[b] = static_cast<uint8_t>(x >> (8 * b));
  };
  for (size_t q = n / 4 - (padding ? 1 : 0); q > 0; --q, in += 4, o += 3)
    put(k_place[0][in[0]] | k_place[1][in[1]] | k_place[2][in[2]] | k_place[3][in[3]], 3);
  if (padding) put(k_place[0][in[0]] | k_place[1][in[1]] | (padding == 1 ? k_place[2][in[2]] : 0), 3 - padding);
  return seen < k_not_digit;
}

} // namespace

Result<Bytes> base64_decode(std::string_view text, std::string_view what, size_t position_base) {
  // The common text, digits then at most two '=', is checked as it is
  // decoded, in one pass.
  Bytes out;
  if (decode_quanta(text, out)) return out;

  // Anything else is checked whole, so each error names what it always
  // named: a bad character at its place in the text as given, then the
  // length and the padding of the digits without whitespace.
  std::string clean;
  clean.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const uint8_t v = k_class[static_cast<unsigned char>(text[i])];
    if (v == k_invalid)
      return fail(Category::invalid_input, "base64.bad_char",
                  std::string(what) + ": invalid base64 character at position " +
                      std::to_string(position_base + i));
    if (v != k_space) clean += text[i];
  }
  if (clean.size() % 4)
    return fail(Category::invalid_input, "base64.bad_length",
                std::string(what) + ": base64 length " + std::to_string(clean.size()) + " is not a multiple of 4");
  auto pad = clean.find('=');
  if (pad != std::string::npos && (clean.size() - pad > 2 || clean.find_first_not_of('=', pad) != std::string::npos))
    return fail(Category::invalid_input, "base64.bad_padding",
                std::string(what) + ": misplaced '=' padding at position " + std::to_string(pad));
  decode_quanta(clean, out); // true: `clean` passed every check it makes
  return out;
}

} // namespace tdx::core
