// The one rule for relative paths in host.yaml and in flags (host_yaml.hpp).
#include "tdxctl/config/host_yaml.hpp"

namespace tdx::config {

std::string absolute_path(const std::string& path, const std::filesystem::path& base_dir) {
  if (path.empty() || std::filesystem::path(path).is_absolute()) return path;
  return (base_dir / path).lexically_normal().string();
}

std::string absolute_path(const std::string& path) {
  return absolute_path(path, std::filesystem::current_path());
}

} // namespace tdx::config
