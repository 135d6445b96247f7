// Batch verification. Quotes are independent once the collateral is checked,
// so workers pull indices from an atomic counter and write into their own
// slot of the result vector: no locks on the hot path except the Verifier's
// PCK-chain cache (a shared_mutex, read-mostly).
#include "tdxctl/quote/batch.hpp"

#include "tdxctl/core/root.hpp"
#include "tdxctl/quote/crypto.hpp"

#include <atomic>
#include <charconv>
#include <ostream>
#include <thread>

#include <fmt/format.h>

namespace tdx::quote {

core::Json VerifyReport::to_json() const {
  core::Json j{{"name", name}, {"accepted", accepted()}};
  if (input_error) {
    j["verified"] = false;
    j["status"] = input_error->category == core::Category::not_ready ? "NO_COLLATERAL" : "INVALID_INPUT";
    j["error"] = core::Json{{"code", input_error->code}, {"message", input_error->message}};
    return j;
  }
  auto verdict_json = verdict.to_json();
  for (auto& [k, v] : verdict_json.items()) j[k] = v;
  j["quote_version"] = quote->version;
  j["body_type"] = quote->body_type;
  if (quote->td) {
    j["td_report"] = quote->td->to_json();
    j["td_attributes_decoded"] = decode_td_attributes(quote->td->td_attributes);
  }
  if (quote->sgx) j["sgx_report"] = quote->sgx->to_json();
  j["policy"] = policy.to_json();
  return j;
}

void VerifyReport::print(std::ostream& os) const {
  os << name << ": ";
  if (input_error) {
    os << (input_error->category == core::Category::not_ready ? "NO COLLATERAL: " : "INVALID INPUT: ")
       << input_error->message << "\n";
    return;
  }
  if (!verdict.verified) {
    os << "FAILED at " << verdict.failure->step << ": " << verdict.failure->status << "\n  "
       << verdict.failure->message << "\n";
    return;
  }
  os << (accepted() ? "OK" : "REJECTED") << " (TCB " << verdict.status << ", TCB date "
     << format_time(verdict.tcb.date) << ")\n";
  if (!verdict.tcb.advisories.empty())
    os << "  advisories: " << fmt::format("{}", fmt::join(verdict.tcb.advisories, ", ")) << "\n";
  if (verdict.launch && verdict.current)
    os << "  launch TCB " << verdict.launch->status << ", current TCB " << verdict.current->status << "\n";
  if (verdict.pck)
    os << "  FMSPC " << core::to_hex(verdict.pck->fmspc) << ", PCK CA " << verdict.pck->ca
       << ", collateral valid until " << format_time(verdict.collateral_expires)
       << (verdict.collateral_expired ? " (EXPIRED, accepted by --allow-expired-collateral)" : "") << "\n";
  if (quote->td) os << "  MRTD " << core::to_hex(quote->td->mr_td) << "\n";
  for (const auto& f : policy.failures)
    os << "  policy " << f.check << ": expected " << f.expected << ", got " << f.actual << "\n";
}

namespace {

// `pick` gives the Verifier for a parsed quote (or why there is none).
template <class Pick>
VerifyReport verify_one(const Pick& pick, const Policy& policy, const VerifyInput& input, InputFormat format) {
  VerifyReport r;
  r.name = input.name;
  auto bytes = decode_quote_input(input.content, format);
  if (!bytes) {
    r.input_error = bytes.error();
    r.input_error->message = input.name + ": " + r.input_error->message;
    return r;
  }
  auto parsed = parse_quote(*bytes);
  if (!parsed) {
    r.input_error = parsed.error();
    r.input_error->message = input.name + ": " + r.input_error->message;
    return r;
  }
  r.quote = std::move(*parsed);
  auto verifier = pick(*r.quote, input.name);
  if (!verifier) {
    r.input_error = verifier.error();
    return r;
  }
  r.verdict = (*verifier)->verify(*r.quote);
  r.policy = evaluate_policy(policy, *r.quote, r.verdict);
  return r;
}

template <class Pick>
std::vector<VerifyReport> verify_many(const Pick& pick, const Policy& policy, const std::vector<VerifyInput>& inputs,
                                      InputFormat format, unsigned jobs) {
  std::vector<VerifyReport> out(inputs.size());
  if (jobs == 0) jobs = std::max(1u, std::thread::hardware_concurrency());
  jobs = std::min<unsigned>(jobs, static_cast<unsigned>(std::max<size_t>(1, inputs.size())));
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < inputs.size();)
      out[i] = verify_one(pick, policy, inputs[i], format);
  };
  std::vector<std::jthread> pool;
  for (unsigned t = 1; t < jobs; ++t) pool.emplace_back(work);
  work();
  return out;
}

auto only(const Verifier& verifier) {
  return [&verifier](const Quote&, std::string_view) -> core::Result<const Verifier*> { return &verifier; };
}

auto by_platform(const VerifierSet& verifiers) {
  return [&verifiers](const Quote& q, std::string_view what) { return verifiers.for_quote(q, what); };
}

} // namespace

VerifyReport verify_input(const Verifier& verifier, const Policy& policy, const VerifyInput& input,
                          InputFormat format) {
  return verify_one(only(verifier), policy, input, format);
}

VerifyReport verify_input(const VerifierSet& verifiers, const Policy& policy, const VerifyInput& input,
                          InputFormat format) {
  return verify_one(by_platform(verifiers), policy, input, format);
}

std::vector<VerifyReport> verify_all(const Verifier& verifier, const Policy& policy,
                                     const std::vector<VerifyInput>& inputs, InputFormat format,
                                     unsigned jobs) {
  return verify_many(only(verifier), policy, inputs, format, jobs);
}

std::vector<VerifyReport> verify_all(const VerifierSet& verifiers, const Policy& policy,
                                     const std::vector<VerifyInput>& inputs, InputFormat format,
                                     unsigned jobs) {
  return verify_many(by_platform(verifiers), policy, inputs, format, jobs);
}

core::Result<std::vector<VerifyInput>> read_jsonl_inputs(std::string_view text, std::string_view source) {
  std::vector<VerifyInput> out;
  size_t line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    if (core::trim(line).empty()) continue;
    auto doc = core::Json::parse(line, nullptr, false);
    std::string name = fmt::format("{}:{}", source, line_no);
    if (doc.is_string()) {
      out.push_back({name, doc.get<std::string>()});
      continue;
    }
    if (doc.is_object() && doc.contains("quote") && doc["quote"].is_string()) {
      if (doc.contains("name") && doc["name"].is_string()) name = doc["name"].get<std::string>();
      out.push_back({name, doc["quote"].get<std::string>()});
      continue;
    }
    return core::fail(core::Category::invalid_input, "quote.bad_jsonl",
                      fmt::format("{}:{}: expected a JSON string (base64 quote) or an object "
                                  "{{\"name\": ..., \"quote\": \"<base64>\"}}",
                                  source, line_no));
  }
  return out;
}

core::Result<time_t> parse_verify_time(std::string_view text) {
  std::string_view digits = text.starts_with('@') ? text.substr(1) : text;
  long long value = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec == std::errc{} && ptr == digits.data() + digits.size() && !digits.empty())
    return static_cast<time_t>(value);
  auto t = parse_time(text, "--at");
  if (!t)
    return core::fail(core::Category::usage, "quote.bad_time",
                      fmt::format("--at '{}': expected YYYY-MM-DDThh:mm:ssZ or Unix seconds", text));
  return t;
}

} // namespace tdx::quote
