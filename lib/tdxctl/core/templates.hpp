#pragma once
// Where tdxctl's runtime templates live (the domain XML skeleton, the image's
// guest files, udev/modprobe rules, the volume's netplan): one rule for every
// group, so an installed tdxctl, a build tree and TDXCTL_TEMPLATE_DIR behave
// the same whichever command reads a template.

#include "tdxctl/core/output.hpp"

#include <filesystem>
#include <string>

namespace tdx::core {

// $TDXCTL_TEMPLATE_DIR when set; else the installed directory when it holds
// the templates; else the source tree's templates/ (running from a build tree).
std::filesystem::path template_dir();

// The text of template `name` (relative to template_dir()). Failure
// (not_ready, template.missing) naming the file and TDXCTL_TEMPLATE_DIR.
std::string read_template(const std::string& name);

// Renders Mustache template `name` with `data` (objects are sections, arrays
// lists, booleans switch sections, anything else is its text). Values go in
// verbatim: these are config files, not HTML, and each caller validates what
// it puts in. Failure (failed, template.invalid) names the file and the error.
std::string render_template(const std::string& name, const Json& data);

} // namespace tdx::core
