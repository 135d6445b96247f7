// Fuzz target "image-yaml": image.yaml as `tdxctl image build` reads it,
// including the unlock endpoints checked with the guest's own unlock.conf
// rules. A bad file must come back as core::Failure (exit 2, naming
// file:line:col); anything else escaping reaches libFuzzer as a crash.
#include "tdxctl/core/error.hpp"
#include "tdxctl/image/image_config.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int tdxctl_fuzz_one(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    auto config = tdx::image::parse_image_config(text, "/nonexistent/tdxctl-fuzz/image.yaml");
    (void)config.to_json();
    return 1;
  } catch (const tdx::core::Failure&) {
    return 0;
  }
}
