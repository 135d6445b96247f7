#pragma once
// Verifying one quote or many: decode, parse, DCAP-verify and appraise each
// input into a self-contained report (one JSON line each in batch mode), on
// a pool of worker threads that share one Verifier (collateral checked once,
// PCK chains cached).

#include "tdxctl/core/error.hpp"
#include "tdxctl/core/output.hpp"
#include "tdxctl/quote/policy.hpp"
#include "tdxctl/quote/quote.hpp"
#include "tdxctl/quote/verifier_set.hpp"
#include "tdxctl/quote/verify.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace tdx::quote {

struct VerifyInput {
  std::string name;    // file name, "-" or "stdin:LINE"
  std::string content; // raw file content (binary, base64 or hex)
};

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
  void print(std::ostream& os) const;
};

VerifyReport verify_input(const Verifier& verifier, const Policy& policy, const VerifyInput& input,
                          InputFormat format);

// The same with each quote's Verifier chosen by its platform.
VerifyReport verify_input(const VerifierSet& verifiers, const Policy& policy, const VerifyInput& input,
                          InputFormat format);

// Verifies all inputs on `jobs` threads (0 = all cores); results in input order.
std::vector<VerifyReport> verify_all(const Verifier& verifier, const Policy& policy,
                                     const std::vector<VerifyInput>& inputs, InputFormat format,
                                     unsigned jobs);
std::vector<VerifyReport> verify_all(const VerifierSet& verifiers, const Policy& policy,
                                     const std::vector<VerifyInput>& inputs, InputFormat format,
                                     unsigned jobs);

// A JSON-lines stream: each line a JSON string (base64 quote) or an object
// {"name": ..., "quote": "<base64>"}. Errors name the line.
core::Result<std::vector<VerifyInput>> read_jsonl_inputs(std::string_view text, std::string_view source);

// "2025-06-25T00:00:00Z", or Unix seconds ("1750809600" / "@1750809600").
core::Result<time_t> parse_verify_time(std::string_view text);

} // namespace tdx::quote
