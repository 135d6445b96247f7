#include "tdxctl/core/json_writer.hpp"

#include "tdxctl/core/hex.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <charconv>
#include <cstring>

namespace tdx::core {

void JsonWriter::before_value() {
  if (m_after_key) {
    m_after_key = false;
    return;
  }
  if (!m_has_member.empty()) {
    if (m_has_member.back()) m_out += ',';
    m_has_member.back() = true;
  }
}

JsonWriter& JsonWriter::open(char bracket) {
  before_value();
  m_out += bracket;
  m_has_member.push_back(false);
  return *this;
}

JsonWriter& JsonWriter::close(char bracket) {
  assert(!m_has_member.empty() && !m_after_key); // a close matches an open, a key has its value
  m_has_member.pop_back();
  m_out += bracket;
  return *this;
}

JsonWriter& JsonWriter::key(std::string_view name) {
  assert(!m_has_member.empty() && !m_after_key); // names live in objects and are not values
  before_value();
  string(name);
  m_out += ':';
  m_after_key = true;
  return *this;
}

JsonWriter& JsonWriter::value(std::string_view s) {
  before_value();
  string(s);
  return *this;
}

bool json_plain(std::string_view s) {
  // One rule, written with bitwise operators so that the blocks of 32 below
  // (no exit inside) become vector compares: ~0.55 us for a JSON-lines
  // quote's 6.6 KB, against ~2 us a character at a time.
  auto escaped = [](unsigned char c) -> unsigned char {
    return (static_cast<unsigned char>(c - 0x20) >= 0x5f) | (c == '"') | (c == '\\');
  };
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    unsigned char bad = 0;
    for (size_t k = 0; k < 32; ++k) bad |= escaped(p[i + k]);
    if (bad) return false;
  }
  for (; i < n; ++i)
    if (escaped(p[i])) return false;
  return true;
}

void JsonWriter::string(std::string_view s) {
  // Printable ASCII without '"' and '\\' is written as it is, which is what
  // nlohmann's serializer does with it; anything else (control characters,
  // UTF-8, bytes that are not UTF-8) goes through that serializer.
  if (json_plain(s)) {
    const size_t at = m_out.size();
    m_out.resize(at + s.size() + 2); // one growth, then plain stores (reports are ~2 KB of these)
    char* p = m_out.data() + at;
    *p = '"';
    std::memcpy(p + 1, s.data(), s.size());
    p[s.size() + 1] = '"';
  } else {
    nlohmann::detail::serializer<Json>(nlohmann::detail::output_adapter<char>(m_out), ' ',
                                       Json::error_handler_t::replace)
        .dump(Json(std::string(s)), false, false, 0);
  }
}

JsonWriter& JsonWriter::boolean(bool b) {
  before_value();
  m_out += b ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::hex(std::span<const uint8_t> bytes) {
  before_value();
  m_out += '"';
  append_hex(bytes, m_out);
  m_out += '"';
  return *this;
}

JsonWriter& JsonWriter::integer(int64_t bits, bool is_unsigned) {
  before_value();
  char buf[24];
  auto r = is_unsigned ? std::to_chars(buf, buf + sizeof buf, static_cast<uint64_t>(bits))
                       : std::to_chars(buf, buf + sizeof buf, bits);
  m_out.append(buf, r.ptr);
  return *this;
}

} // namespace tdx::core
