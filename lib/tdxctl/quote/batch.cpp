// Batch verification. Quotes are independent once the collateral is checked,
// so workers pull indices from an atomic counter; the hot path takes no lock
// but the Verifier's PCK-chain cache (a shared_mutex, read-mostly) and one
// short one to hand the rendered report over in input order.
//
// Measured cost (perf, issue 17): keeping every report until the end made
// the heap grow by ~5 KB a quote, and on a VM each fresh heap page is a page
// fault: a fifth of the CLI's time went to faults and malloc. Streamed, the
// heap stays the size of a few reports and the buffers are reused.
#include "tdxctl/quote/batch.hpp"

#include "tdxctl/core/fs.hpp"
#include "tdxctl/core/root.hpp"
#include "tdxctl/quote/crypto.hpp"

#include <atomic>
#include <charconv>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include <fmt/format.h>

namespace tdx::quote {

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

// Puts rendered reports back into input order. A worker that finishes a
// report before an earlier one parks its text; whoever fills the gap writes
// the run. Output leaves in chunks of about 64 KiB, one sink call each.
class InOrder {
public:
  explicit InOrder(const OutputSink& sink) : m_sink(sink) {}

  // Blocks while `index` is far ahead of the oldest unfinished report, so
  // one slow quote cannot make the others pile up in memory. The worker
  // holding that oldest report never waits, so this cannot deadlock.
  void wait_turn(size_t index) {
    std::unique_lock lock(m_mutex);
    m_room.wait(lock, [&] { return index < m_next + k_window; });
  }

  // Takes `text` (left empty, capacity kept when it was written at once).
  void put(size_t index, std::string& text) {
    std::lock_guard lock(m_mutex);
    if (index != m_next) {
      m_parked.emplace(index, std::move(text));
      text = std::string();
      return;
    }
    m_out += text;
    text.clear();
    for (++m_next; !m_parked.empty() && m_parked.begin()->first == m_next; ++m_next) {
      m_out += m_parked.begin()->second;
      m_parked.erase(m_parked.begin());
    }
    if (m_out.size() >= k_chunk) flush_locked();
    m_room.notify_all();
  }

  void finish() {
    std::lock_guard lock(m_mutex);
    flush_locked();
  }

private:
  static constexpr size_t k_window = 1024;
  static constexpr size_t k_chunk = 64 << 10;

  void flush_locked() {
    if (!m_out.empty()) m_sink(m_out);
    m_out.clear();
  }

  const OutputSink& m_sink;
  std::mutex m_mutex;
  std::condition_variable m_room;
  size_t m_next = 0;
  std::map<size_t, std::string> m_parked;
  std::string m_out;
};

template <class Pick>
BatchCounts verify_many(const Pick& pick, const Policy& policy, const std::vector<VerifyInput>& inputs,
                        InputFormat format, unsigned jobs, const ReportRenderer& render,
                        const OutputSink& sink) {
  if (jobs == 0) jobs = std::max(1u, std::thread::hardware_concurrency());
  jobs = std::min<unsigned>(jobs, static_cast<unsigned>(std::max<size_t>(1, inputs.size())));
  std::atomic<size_t> next{0}, accepted{0}, invalid{0}, no_collateral{0};
  InOrder in_order(sink);
  auto work = [&] {
    VerifyInput file_input; // one per worker: its content buffer is reused
    std::string text;
    for (size_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < inputs.size();) {
      in_order.wait_turn(i);
      const VerifyInput* input = &inputs[i];
      VerifyReport report;
      if (input->from_file) {
        file_input.name = input->name;
        if (auto read = core::read_file_into(input->name, file_input.content); !read) {
          report.name = input->name;
          report.input_error = read.error();
        }
        input = &file_input;
      }
      if (!report.input_error) report = verify_one(pick, policy, *input, format);
      if (report.accepted()) accepted.fetch_add(1, std::memory_order_relaxed);
      else if (report.input_error)
        (report.input_error->category == core::Category::not_ready ? no_collateral : invalid)
            .fetch_add(1, std::memory_order_relaxed);
      render(i, report, text);
      in_order.put(i, text);
    }
  };
  {
    std::vector<std::jthread> pool;
    for (unsigned t = 1; t < jobs; ++t) pool.emplace_back(work);
    work();
  }
  in_order.finish();
  return {inputs.size(), accepted.load(), invalid.load(), no_collateral.load()};
}

auto by_platform(const VerifierSet& verifiers) {
  return [&verifiers](const Quote& q, std::string_view what) { return verifiers.for_quote(q, what); };
}

} // namespace

VerifyReport verify_input(const VerifierSet& verifiers, const Policy& policy, const VerifyInput& input,
                          InputFormat format) {
  return verify_one(by_platform(verifiers), policy, input, format);
}

BatchCounts verify_stream(const VerifierSet& verifiers, const Policy& policy,
                          const std::vector<VerifyInput>& inputs, InputFormat format, unsigned jobs,
                          const ReportRenderer& render, const OutputSink& sink) {
  return verify_many(by_platform(verifiers), policy, inputs, format, jobs, render, sink);
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
