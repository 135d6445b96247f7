#include "tdxctl/core/units.hpp"

#include <cctype>

namespace tdx::core {

std::optional<uint64_t> parse_size(std::string_view text) {
  constexpr uint64_t limit = uint64_t{1} << 63;
  uint64_t value = 0;
  size_t i = 0;
  for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
    value = value * 10 + static_cast<uint64_t>(text[i] - '0');
    if (value > limit) return std::nullopt;
  }
  if (i == 0) return std::nullopt;
  auto unit = text.substr(i);
  int shift = 0;
  if (unit == "" || unit == "B") shift = 0;
  else if (unit == "K" || unit == "KiB") shift = 10;
  else if (unit == "M" || unit == "MiB") shift = 20;
  else if (unit == "G" || unit == "GiB") shift = 30;
  else if (unit == "T" || unit == "TiB") shift = 40;
  else return std::nullopt;
  if (value > (limit >> shift)) return std::nullopt;
  return value << shift;
}

} // namespace tdx::core
