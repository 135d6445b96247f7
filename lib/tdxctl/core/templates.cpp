#include "tdxctl/core/templates.hpp"

#include "tdxctl/core/build_info.hpp"
#include "tdxctl/core/error.hpp"
#include "tdxctl/core/fs.hpp"

#include <kainjow/mustache.hpp>

#include <cstdlib>

namespace tdx::core {

std::filesystem::path template_dir() {
  if (const char* env = std::getenv("TDXCTL_TEMPLATE_DIR"); env && *env) return env;
  std::error_code ec;
  // The installed set only when it is there (td.xml ships with every one), so
  // an empty or stale directory does not shadow the build tree's.
  if (std::filesystem::exists(std::filesystem::path(build_info::template_dir) / "td.xml", ec))
    return build_info::template_dir;
  return std::filesystem::path(build_info::source_dir) / "templates";
}

std::string read_template(const std::string& name) {
  auto path = template_dir() / name;
  auto text = read_file(path);
  if (!text)
    throw Failure(Category::not_ready, "template.missing", "template " + path.string() + ": " + text.error().message,
                  "reinstall tdxctl, or point TDXCTL_TEMPLATE_DIR at the templates directory");
  return *text;
}

namespace {

kainjow::mustache::data to_data(const Json& j) {
  using kainjow::mustache::data;
  if (j.is_object()) {
    data d;
    for (auto it = j.begin(); it != j.end(); ++it) d.set(it.key(), to_data(it.value()));
    return d;
  }
  if (j.is_array()) {
    data list{data::type::list};
    for (const auto& item : j) list << to_data(item);
    return list;
  }
  if (j.is_boolean()) return j.get<bool>() ? data{data::type::bool_true} : data{data::type::bool_false};
  if (j.is_string()) return data{j.get<std::string>()};
  return data{j.dump()};
}

} // namespace

std::string render_template(const std::string& name, const Json& data) {
  kainjow::mustache::mustache tmpl(read_template(name));
  tmpl.set_custom_escape([](const std::string& s) { return s; });
  std::string out;
  if (tmpl.is_valid()) out = tmpl.render(to_data(data));
  if (!tmpl.is_valid())
    throw Failure(Category::failed, "template.invalid",
                  "template " + (template_dir() / name).string() + ": " + tmpl.error_message());
  return out;
}

} // namespace tdx::core
