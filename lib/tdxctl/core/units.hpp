#pragma once
// Sizes as operators write them: "5000G", "512M", "2GiB", "4096" (bytes).
// K/M/G/T are powers of 1024, as in qemu-img and truncate. One parser for
// image.yaml, the volume commands and host.yaml, so "5000G" means the same
// everywhere.
#include <cstdint>
#include <optional>
#include <string_view>

namespace tdx::core {

// Empty, unknown units and values above 2^63 (beyond off_t) give nullopt.
std::optional<uint64_t> parse_size(std::string_view text);

} // namespace tdx::core
