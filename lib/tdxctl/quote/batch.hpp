#pragma once
// Verifying one quote or many: decode, parse, DCAP-verify and appraise each
// input into a self-contained report, on a pool of worker threads that share
// one VerifierSet (collateral checked once, PCK chains cached). A batch is a
// stream: each worker reads its own inputs (files a run at a time), renders
// their reports, and the rendered reports leave in input order while later
// ones are still being verified, so memory stays flat for any number of
// quotes.

#include "tdxctl/core/error.hpp"
#include "tdxctl/quote/policy.hpp"
#include "tdxctl/quote/quote.hpp"
#include "tdxctl/quote/verifier_set.hpp"
#include "tdxctl/quote/verify.hpp"
#include "tdxctl/quote/verify_report.hpp"

#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace tdx::quote {

struct VerifyInput {
  std::string name;         // file name, "-" or "stdin:LINE"
  std::string_view content; // raw content (binary, base64 or hex), kept alive by the caller
  // Read `name` when a worker reaches this input (content is then unused):
  // a batch of files never holds more than a run per worker at once.
  bool from_file = false;
};

// One input, its quote verified with the Verifier of its platform.
VerifyReport verify_input(const VerifierSet& verifiers, const Policy& policy, const VerifyInput& input,
                          InputFormat format);

struct BatchCounts {
  size_t total = 0, accepted = 0;
  size_t invalid = 0;       // did not decode or parse
  size_t no_collateral = 0; // no collateral set for the quote's platform
};

// Renders the finished report of inputs[index] by appending to `out` (a
// worker's buffer, reused); called on worker threads, in any order.
using ReportRenderer = std::function<void(size_t index, const VerifyReport& report, std::string& out)>;
// Takes rendered output in input order, a chunk at a time, never from two
// threads at once.
using OutputSink = std::function<void(std::string_view chunk)>;

// Verifies every input on `jobs` threads (0 = all cores). The calling thread
// is one of the workers; everything is written to `sink` before it returns.
BatchCounts verify_stream(const VerifierSet& verifiers, const Policy& policy,
                          const std::vector<VerifyInput>& inputs, InputFormat format, unsigned jobs,
                          const ReportRenderer& render, const OutputSink& sink);

// A JSON-lines stream: each line a JSON string (base64 quote) or an object
// {"name": ..., "quote": "<base64>"}. Errors name the line. The inputs view
// `text` (a line that is a plain string is its own content) or, for a line
// whose string had escapes, its unescaped text, kept in `unescaped`.
core::Result<std::vector<VerifyInput>> read_jsonl_inputs(std::string_view text, std::string_view source,
                                                         std::deque<std::string>& unescaped);
// A temporary text would leave the inputs viewing freed memory.
core::Result<std::vector<VerifyInput>> read_jsonl_inputs(std::string&& text, std::string_view source,
                                                         std::deque<std::string>& unescaped) = delete;

// "2025-06-25T00:00:00Z", or Unix seconds ("1750809600" / "@1750809600").
core::Result<time_t> parse_verify_time(std::string_view text);

} // namespace tdx::quote
