// Rendering the guest-side files from templates/image/*.mustache with
// kainjow::mustache. Text files must come out byte-for-byte as written, so the
// HTML escaping Mustache does by default is turned off; values are checked by
// the config parser (URLs, labels, UUIDs) before they get here.
#include "tdxctl/image/templates.hpp"

#include "tdxctl/core/build_info.hpp"
#include "tdxctl/core/error.hpp"
#include "tdxctl/core/fs.hpp"

#include <kainjow/mustache.hpp>

#include <cstdlib>

namespace tdx::image {

std::filesystem::path template_dir() {
  if (const char* env = std::getenv("TDXCTL_TEMPLATE_DIR"); env && *env) return env;
  std::filesystem::path installed = core::build_info::template_dir;
  if (std::filesystem::exists(installed / "image")) return installed;
  return std::filesystem::path(core::build_info::source_dir) / "templates";
}

std::string render_template(const std::string& name, const std::map<std::string, std::string>& values) {
  auto path = template_dir() / "image" / (name + ".mustache");
  auto text = core::read_file(path);
  if (!text)
    throw core::Failure(core::Category::not_ready, "image.template.missing", text.error().message,
                        "set TDXCTL_TEMPLATE_DIR to the directory holding image/*.mustache");
  kainjow::mustache::mustache tmpl(*text);
  tmpl.set_custom_escape([](const std::string& s) { return s; });
  kainjow::mustache::data data;
  for (auto& [k, v] : values) {
    if (v.empty()) data.set(k, false);
    else data.set(k, v);
  }
  auto out = tmpl.render(data);
  if (!tmpl.is_valid())
    throw core::Failure(core::Category::not_ready, "image.template.invalid",
                        path.string() + ": " + tmpl.error_message());
  return out;
}

} // namespace tdx::image
