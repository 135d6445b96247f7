#pragma once
// The guest files tdxctl installs (crypttab, initramfs hook, unlock script,
// units) are Mustache templates under templates/image/, rendered at build time.

#include <filesystem>
#include <map>
#include <string>

namespace tdx::image {

// Renders templates/image/<name>.mustache with plain (non-HTML) escaping.
// Failure(not_ready) when the template is missing or does not parse.
// Keys given as "name" with value "" are false for sections.
std::string render_template(const std::string& name, const std::map<std::string, std::string>& values);

} // namespace tdx::image
