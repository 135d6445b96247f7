// systemd's path escaping, reduced to what image.yaml lets through (labels
// and mount points of A-Z a-z 0-9 _ - and '/'): the generated units name
// each other by these, so one wrong character leaves a volume unmounted.
#include "tdxctl/image/unit_names.hpp"

#include <algorithm>

namespace tdx::image {

std::string escape_unit_dashes(std::string_view text) {
  std::string out;
  for (char ch : text) out += ch == '-' ? std::string("\\x2d") : std::string(1, ch);
  return out;
}

std::string mount_unit_name(const std::string& mount) {
  auto unit = escape_unit_dashes(std::string_view(mount).substr(1));
  std::replace(unit.begin(), unit.end(), '/', '-'); // the escapes hold no '/'
  return unit + ".mount";
}

} // namespace tdx::image
