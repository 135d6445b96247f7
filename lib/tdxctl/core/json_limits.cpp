// A bracket-depth pre-scan instead of a parser callback: nlohmann's callback
// cannot stop a parse, only discard values after they were built, and the
// scan gives the exact byte offset for the error.
#include "tdxctl/core/json_limits.hpp"

#include <fmt/format.h>

#include <string>

namespace tdx::core {

size_t json_depth_exceeded_at(std::string_view text, size_t max_depth) {
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') ++i; // the escaped character cannot end the string
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '[' || c == '{') {
      if (++depth > max_depth) return i;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::string_view::npos;
}

Result<Json> parse_untrusted_json(std::string_view text, std::string_view what, size_t max_depth) {
  if (size_t at = json_depth_exceeded_at(text, max_depth); at != std::string_view::npos)
    return fail(Category::invalid_input, "json.too_deep",
                fmt::format("{}: JSON nested deeper than {} levels at byte offset {}", what, max_depth, at));
  try {
    return Json::parse(text);
  } catch (const Json::parse_error& e) {
    // e.what() quotes no input bytes: only the position and the token kind.
    return fail(Category::invalid_input, "json.syntax",
                fmt::format("{}: not valid JSON at byte offset {}", what, e.byte > 0 ? e.byte - 1 : 0));
  } catch (const Json::out_of_range&) {
    // A number no double holds ("1e999"): nlohmann throws this, not a
    // parse_error, from inside the parse (found by scripts/fuzz unlock-json).
    return fail(Category::invalid_input, "json.syntax",
                fmt::format("{}: not valid JSON: a number out of range", what));
  }
}

} // namespace tdx::core
