#pragma once
// A JSON writer that appends compact JSON straight to a caller's buffer: no
// document tree, no allocation per value. `quote verify` renders thousands of
// reports per second through it; the same functions give the tree form
// (json_from) where a caller wants a core::Json, so each document's fields
// are written in one place. The output is byte for byte what nlohmann's
// dump() gives for the same tree (error_handler replace: bytes that are not
// UTF-8 become U+FFFD), which tests/unit/core/test_json_writer.cpp checks
// against nlohmann itself. So a tree from json_from holds U+FFFD where the
// source string had such bytes, as every dump of it did before.

#include "tdxctl/core/output.hpp"

#include <concepts>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tdx::core {

class JsonWriter {
public:
  explicit JsonWriter(std::string& out) : m_out(out) {}

  JsonWriter& begin_object() { return open('{'); }
  JsonWriter& end_object() { return close('}'); }
  JsonWriter& begin_array() { return open('['); }
  JsonWriter& end_array() { return close(']'); }
  // The next member's name; its value follows (a value call or begin_*).
  JsonWriter& key(std::string_view name);

  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(const std::string& s) { return value(std::string_view(s)); }
  // Only a bool is a boolean: a double, enum or pointer would otherwise
  // convert to one silently.
  template <std::same_as<bool> B> JsonWriter& value(B b) { return boolean(b); }
  template <std::integral T>
    requires(!std::same_as<T, bool>)
  JsonWriter& value(T n) {
    if constexpr (std::is_signed_v<T>) return integer(static_cast<int64_t>(n), false);
    else return integer(static_cast<int64_t>(static_cast<uint64_t>(n)), true);
  }
  template <class T> JsonWriter& value(const std::vector<T>& list) {
    begin_array();
    for (const auto& item : list) value(item);
    return end_array();
  }
  // No number here is fractional, and no pointer but a C string is text.
  JsonWriter& value(double) = delete;
  JsonWriter& value(const void*) = delete;

  // Bytes as a string of lowercase hex digits (what core::to_hex gives),
  // written straight into the buffer: reports hold ~20 such fields.
  JsonWriter& hex(std::span<const uint8_t> bytes);

  // key(name) then value(v).
  template <class T> JsonWriter& field(std::string_view name, const T& v) {
    key(name);
    return value(v);
  }
  JsonWriter& hex_field(std::string_view name, std::span<const uint8_t> bytes) {
    key(name);
    return hex(bytes);
  }

private:
  void before_value();
  JsonWriter& open(char bracket);
  JsonWriter& close(char bracket);
  void string(std::string_view s); // quoted and escaped
  JsonWriter& integer(int64_t bits, bool is_unsigned);
  JsonWriter& boolean(bool b);
  std::string& m_out;
  // Per open container: whether it has a member yet (a comma goes first).
  std::vector<bool> m_has_member;
  bool m_after_key = false;
};

// The tree form of what `write` writes (one value: normally an object).
template <class Write> Json json_from(Write&& write) {
  std::string text;
  JsonWriter w(text);
  std::forward<Write>(write)(w);
  return Json::parse(text);
}

// Whether JSON writes `s` as it is between quotes: printable ASCII without
// '"' and '\\' (what nlohmann's serializer leaves alone too).
bool json_plain(std::string_view s);

} // namespace tdx::core
