#pragma once
// policy.yaml from a build's reference values (`policy init --from-measure`):
// pins MRTD and every RTMR the measurement predicted (an "unknown" one is
// left out, never pinned to a guess), MRCONFIGID when given, and the
// accepted TCB statuses. The text is what load_policy reads back.

#include "tdxctl/measure/report.hpp"

#include <optional>
#include <string>
#include <vector>

namespace tdx::policy {

struct PolicyInit {
  measure::ReferenceValues values;
  std::optional<measure::Digest> mr_config_id;
  std::vector<std::string> accept_tcb{"UpToDate"};
  std::string source; // named in the header comment
};

std::string render_policy(const PolicyInit& init);

// MRCONFIGID from a .sha384 file: 96 hex digits, optionally followed by
// whitespace and a file name (sha384sum's format).
core::Result<measure::Digest> parse_sha384_file(std::string_view text, std::string_view name);

} // namespace tdx::policy
