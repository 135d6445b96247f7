#pragma once
// What verifying one input says: the input's name, why it could not be
// checked (if so), the parsed quote, the DCAP verdict and the policy result.
// Its two renderings live here too, so `quote verify`, `quote fetch --verify`
// and `up --attest` print the same document: a JSON object (one line of a
// batch, or an element of --json-array) and the human text.

#include "tdxctl/core/error.hpp"
#include "tdxctl/core/output.hpp"
#include "tdxctl/quote/policy.hpp"
#include "tdxctl/quote/quote.hpp"
#include "tdxctl/quote/verify.hpp"

#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>

namespace tdx::quote {

struct VerifyReport {
  std::string name;
  // The quote did not decode or parse (invalid_input), or no collateral
  // for its platform was found (not_ready).
  std::optional<core::Error> input_error;
  std::optional<Quote> quote;
  Verdict verdict;
  PolicyResult policy;
  bool accepted() const { return !input_error && verdict.verified && policy.passed; }
  core::Json to_json() const;
  // The same fields, written into an object the caller has open (after a
  // schema id, say).
  void write_members(core::JsonWriter& w) const;
  void print(std::ostream& os) const;
};

// One batch document: {"schema": "tdxctl.quote.verify/1", ...report,
// "verify_time": ...}. `indent` < 0 gives one line (JSON lines); otherwise
// the lines of an array element at that depth.
void append_report_json(const VerifyReport& report, std::string_view verify_time, int indent,
                        std::string& out);

// The text of `report.print`, escaped for a terminal, appended to `out`.
void append_report_text(const VerifyReport& report, std::string& out);

} // namespace tdx::quote
