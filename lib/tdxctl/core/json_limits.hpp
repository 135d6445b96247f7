#pragma once
// The one parser for JSON that arrives over a network or a socket (key
// release, the guest attestation service, `quote serve`/`fetch`, PCS/PCCS
// collateral). nlohmann parses iteratively, but anything that later walks the
// document recursively (a wipe, a printer, a reader) would follow an
// attacker's nesting into a stack overflow, so the depth is bounded before
// the document exists. Errors name what was read and the byte offset.

#include "tdxctl/core/error.hpp"
#include "tdxctl/core/output.hpp"

#include <cstddef>
#include <string_view>

namespace tdx::core {

// No protocol tdxctl speaks nests deeper than a handful of levels (TCB info:
// 5); 64 leaves room for future fields and none for a stack-exhaustion attack.
inline constexpr size_t k_max_json_depth = 64;

// The byte offset where the nesting of `text` first exceeds `max_depth`
// (brackets inside strings do not count), or npos when it never does.
size_t json_depth_exceeded_at(std::string_view text, size_t max_depth = k_max_json_depth);

// Parses `text` as one JSON document. `what` names it in errors (e.g. "GET
// https://.../nonce"); codes: json.too_deep, json.syntax (a syntax error, or
// a number out of range; both invalid_input; callers re-code them for their
// protocol). Never throws.
Result<Json> parse_untrusted_json(std::string_view text, std::string_view what,
                                  size_t max_depth = k_max_json_depth);

} // namespace tdx::core
