#pragma once
// The unit names systemd derives from paths and labels, as the image's
// generated units must spell them: systemd loads a .mount unit only under
// its escaped mount point's name, and a .device dependency only matches the
// escaped by-label path. Pure text, so the rules are tested on their own.

#include <string>
#include <string_view>

namespace tdx::image {

// Each '-' as "\x2d", the rest as is: enough for volume labels, which
// image.yaml limits to A-Z a-z 0-9 _ -.
std::string escape_unit_dashes(std::string_view text);

// The .mount unit of an absolute mount point: "/var/lib/a-b" ->
// "var-lib-a\x2db.mount" ('/' separates, a '-' inside a name is escaped).
std::string mount_unit_name(const std::string& mount);

} // namespace tdx::image
