// Fuzz target "host-yaml": host.yaml as `tdxctl up` and `config check` read
// it, every section and cross-check in one pass. A bad file must come back
// as the one expected refusal, core::Failure (exit 2, naming file:line:col);
// anything else escaping (a yaml-cpp exception, std::out_of_range, ...)
// reaches libFuzzer as a crash. Relative paths resolve under a directory
// that does not exist, so no input names a real file by accident.
#include "tdxctl/core/error.hpp"
#include "tdxctl/up/host_file.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int tdxctl_fuzz_one(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    auto file = tdx::up::parse_host_file(text, "fuzz-host.yaml", "/nonexistent/tdxctl-fuzz");
    (void)file.summary();
    return 1;
  } catch (const tdx::core::Failure&) {
    return 0;
  }
}
