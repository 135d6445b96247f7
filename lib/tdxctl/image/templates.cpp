// The guest-side files from templates/image/*.mustache, through the one
// renderer (core/templates: values verbatim, no HTML escaping); values are
// checked by the config parser (URLs, labels, UUIDs) before they get here.
#include "tdxctl/image/templates.hpp"

#include "tdxctl/core/templates.hpp"

namespace tdx::image {

std::string render_template(const std::string& name, const std::map<std::string, std::string>& values) {
  core::Json data = core::Json::object();
  for (const auto& [k, v] : values) data[k] = v.empty() ? core::Json(false) : core::Json(v);
  return core::render_template("image/" + name + ".mustache", data);
}

} // namespace tdx::image
