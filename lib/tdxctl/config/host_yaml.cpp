// The one rule for relative paths in host.yaml and in flags, and the key
// lists turned into man-page entries (host_yaml.hpp).
#include "tdxctl/config/host_yaml.hpp"

#include "tdxctl/core/error.hpp"

#include <algorithm>
#include <set>

namespace tdx::config {

std::vector<KeyDoc> document_keys(
    const std::vector<std::pair<std::string_view, std::string_view>>& texts,
    std::initializer_list<SectionKeys> sections) {
  auto stop = [](const std::string& message) {
    throw core::Failure(core::Category::failed, "config.key_docs", message);
  };
  auto is_section = [&](const std::string& path) {
    return std::any_of(sections.begin(), sections.end(), [&](const SectionKeys& s) { return s.path == path; });
  };
  std::vector<KeyDoc> out;
  std::set<std::string_view> used;
  for (const auto& section : sections) {
    bool first = true;
    for (auto key : section.keys) {
      auto path = std::string(section.path) + "." + std::string(key);
      if (is_section(path)) continue;
      auto text = std::find_if(texts.begin(), texts.end(), [&](const auto& t) { return t.first == path; });
      if (text != texts.end()) {
        used.insert(text->first);
        out.push_back({{path}, text->second});
      } else if (first) {
        stop("host.yaml key '" + path + "' has no text in the man page");
      } else {
        out.back().keys.push_back(path);
      }
      first = false;
    }
  }
  for (const auto& [key, text] : texts)
    if (!used.count(key)) stop("the man page describes '" + std::string(key) + "', which no host.yaml reader accepts");
  return out;
}

std::string absolute_path(const std::string& path, const std::filesystem::path& base_dir) {
  if (path.empty() || std::filesystem::path(path).is_absolute()) return path;
  return (base_dir / path).lexically_normal().string();
}

std::string absolute_path(const std::string& path) {
  return absolute_path(path, std::filesystem::current_path());
}

} // namespace tdx::config
