#pragma once
// Hex digests of bytes in memory: the one home for SHA-256 and SHA-384 as
// lower-case hex (manifests, UUID derivation, policy fingerprints, the domain
// topology digest, nftables ruleset markers). Streaming digests of files
// stay with their readers, which also check what they read.

#include <string>
#include <string_view>

namespace tdx::core {

std::string sha256_hex(std::string_view data);
std::string sha384_hex(std::string_view data);

} // namespace tdx::core
