#pragma once
// host.yaml's top-level sections: one list for every reader of the file
// (`up`/`down`/`config check`, `td`, `net`, `volume config`), so a misspelt
// or unknown section is the same error whichever command reads the file.

#include <initializer_list>
#include <string_view>

namespace tdx::config {

inline const std::initializer_list<std::string_view> k_host_yaml_sections = {
    "host", "gpu", "config", "volumes", "network", "td", "attest"};

} // namespace tdx::config
