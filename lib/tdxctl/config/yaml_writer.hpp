#pragma once
// Writing YAML for other tools (a KubeVirt manifest for kubectl): a JSON
// value emitted as block YAML by yaml-cpp, after comment lines. Every string
// value is double-quoted (non-ASCII escaped), and a key is quoted unless it is
// a plain identifier, so "true", "0x10", "100Gi" or "on" stay strings for any
// YAML 1.1 or 1.2 reader; key order is the JSON's own. Comment text is split
// at every character a reader takes as a line break.

#include "tdxctl/core/output.hpp"

#include <string>
#include <vector>

namespace tdx::config {

// `comments` are written first, each as "# LINE" (embedded newlines become
// further comment lines); then the value as one YAML document.
std::string to_yaml(const core::Json& value, const std::vector<std::string>& comments = {});

} // namespace tdx::config
