// Batch verification. Quotes are independent once the collateral is checked,
// so workers pull runs of indices from an atomic counter (each run's files
// read in one batch, core/file_batch); the hot path takes no lock but the
// Verifier's PCK-chain cache (a shared_mutex, read-mostly) and one short one
// per run to hand its rendered reports over in input order.
//
// Measured cost (perf, issue 17): keeping every report until the end made
// the heap grow by ~5 KB a quote, and on a VM each fresh heap page is a page
// fault: a fifth of the CLI's time went to faults and malloc. Streamed, the
// heap stays the size of a few reports and the buffers are reused.
#include "tdxctl/quote/batch.hpp"

#include "tdxctl/core/file_batch.hpp"
#include "tdxctl/core/json_writer.hpp"
#include "tdxctl/core/root.hpp"
#include "tdxctl/quote/crypto.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include <fmt/format.h>

namespace tdx::quote {

namespace {

// `pick` gives the Verifier for a parsed quote (or why there is none).
template <class Pick>
VerifyReport verify_one(const Pick& pick, const Policy& policy, const std::string& name, std::string_view content,
                        InputFormat format) {
  VerifyReport r;
  r.name = name;
  auto bytes = decode_quote_input(content, format);
  if (!bytes) {
    r.input_error = bytes.error();
    r.input_error->message = name + ": " + r.input_error->message;
    return r;
  }
  auto parsed = parse_quote(std::move(*bytes));
  if (!parsed) {
    r.input_error = parsed.error();
    r.input_error->message = name + ": " + r.input_error->message;
    return r;
  }
  r.quote = std::move(*parsed);
  auto verifier = pick(*r.quote, name);
  if (!verifier) {
    r.input_error = verifier.error();
    return r;
  }
  r.verdict = (*verifier)->verify(*r.quote);
  r.policy = evaluate_policy(policy, *r.quote, r.verdict);
  return r;
}

// Puts rendered runs back into input order. A worker renders a whole run of
// reports into its own buffer; if an earlier run is still being verified it
// parks the text (trading its buffer for a spare one once written runs have
// left spares, so buffers are reused rather than freed by the other thread
// and grown again), and whoever finishes the gap writes the parked runs
// after its own. The sink is called outside the lock: only the worker whose run is
// next may write, and the next run is not next until that write is done.
//
// Measured (perf, issue 17): with a report per hand-over, the second worker
// parked nearly every report in a fresh string grown by doubling and freed
// by the other thread, and every write held the lock; 2 jobs ran at 1.66x.
class InOrder {
public:
  explicit InOrder(const OutputSink& sink) : m_sink(sink) {}

  // Blocks while `first` is far ahead of the oldest unwritten run, so one
  // slow quote cannot make the others pile up in memory. The worker holding
  // that oldest run never waits, so this cannot deadlock.
  void wait_turn(size_t first) {
    std::unique_lock lock(m_mutex);
    m_room.wait(lock, [&] { return first < m_next + k_window; });
  }

  // Takes the text of inputs [first, end): written now, or parked. `text`
  // comes back empty (with the capacity of an earlier buffer, where there
  // was a spare one).
  void put(size_t first, size_t end, std::string& text) {
    std::unique_lock lock(m_mutex);
    if (first != m_next) {
      std::string spare;
      if (!m_spare.empty()) {
        spare = std::move(m_spare.back());
        m_spare.pop_back();
      }
      std::swap(spare, text);
      m_parked.emplace(first, Parked{end, std::move(spare)});
      return;
    }
    lock.unlock();
    write(text);
    lock.lock();
    m_next = end;
    while (!m_parked.empty() && m_parked.begin()->first == m_next) {
      Parked run = std::move(m_parked.begin()->second);
      m_parked.erase(m_parked.begin());
      lock.unlock();
      write(run.text);
      lock.lock();
      m_next = run.end;
      m_spare.push_back(std::move(run.text));
      m_room.notify_all(); // workers held by the window may go on now
    }
    m_room.notify_all();
  }

private:
  static constexpr size_t k_window = 1024;

  struct Parked {
    size_t end;
    std::string text;
  };

  void write(std::string& text) {
    if (!text.empty()) m_sink(text);
    text.clear();
  }

  const OutputSink& m_sink;
  std::mutex m_mutex;
  std::condition_variable m_room;
  size_t m_next = 0;
  std::map<size_t, Parked> m_parked;
  std::vector<std::string> m_spare;
};

template <class Pick>
BatchCounts verify_many(const Pick& pick, const Policy& policy, const std::vector<VerifyInput>& inputs,
                        InputFormat format, unsigned jobs, const ReportRenderer& render,
                        const OutputSink& sink) {
  if (jobs == 0) jobs = std::max(1u, std::thread::hardware_concurrency());
  jobs = std::min<unsigned>(jobs, static_cast<unsigned>(std::max<size_t>(1, inputs.size())));
  std::atomic<size_t> next{0};
  BatchCounts counts{inputs.size()};
  std::mutex counts_mutex;
  InOrder in_order(sink);
  // Workers claim runs of inputs, so that the files of a run are read in one
  // batch (core::FileBatchReader). A run is a quarter of each worker's share
  // of what is left (at most a batch, and what the limit on open files
  // leaves each worker): the workers finish together, and a handful of
  // quotes goes one to a worker.
  const size_t max_run = core::FileBatchReader::files_per_read(jobs);
  auto claim = [&](size_t& first, size_t& end) {
    size_t at = next.load(std::memory_order_relaxed);
    for (;;) {
      if (at >= inputs.size()) return false;
      size_t take = std::clamp<size_t>((inputs.size() - at) / (4 * jobs), 1, max_run);
      if (next.compare_exchange_weak(at, at + take, std::memory_order_relaxed)) {
        first = at;
        end = at + take;
        return true;
      }
    }
  };
  auto work = [&] {
    core::FileBatchReader reader;
    std::vector<core::FileBatchReader::File> files(core::FileBatchReader::k_batch); // reused, with their buffers
    std::string text;
    BatchCounts mine; // counted apart and added up at the end: no shared line bounces per quote
    for (size_t first, end; claim(first, end);) {
      size_t n_files = 0;
      for (size_t i = first; i < end; ++i)
        if (inputs[i].from_file) files[n_files++].path = &inputs[i].name;
      in_order.wait_turn(first);
      reader.read(std::span(files).first(n_files));
      for (size_t i = first, n_read = 0; i < end; ++i) {
        const VerifyInput& input = inputs[i];
        VerifyReport report;
        if (!input.from_file) report = verify_one(pick, policy, input.name, input.content, format);
        else if (const auto& file = files[n_read++]; !file.result) {
          report.name = input.name;
          report.input_error = file.result.error();
        } else report = verify_one(pick, policy, input.name, file.content, format);
        if (report.accepted()) ++mine.accepted;
        else if (report.input_error)
          ++(report.input_error->category == core::Category::not_ready ? mine.no_collateral : mine.invalid);
        render(i, report, text);
      }
      in_order.put(first, end, text);
    }
    std::lock_guard lock(counts_mutex);
    counts.accepted += mine.accepted;
    counts.invalid += mine.invalid;
    counts.no_collateral += mine.no_collateral;
  };
  {
    std::vector<std::jthread> pool;
    for (unsigned t = 1; t < jobs; ++t) pool.emplace_back(work);
    work();
  }
  return counts;
}

auto by_platform(const VerifierSet& verifiers) {
  return [&verifiers](const Quote& q, std::string_view what) { return verifiers.for_quote(q, what); };
}

} // namespace

VerifyReport verify_input(const VerifierSet& verifiers, const Policy& policy, const VerifyInput& input,
                          InputFormat format) {
  return verify_one(by_platform(verifiers), policy, input.name, input.content, format);
}

BatchCounts verify_stream(const VerifierSet& verifiers, const Policy& policy,
                          const std::vector<VerifyInput>& inputs, InputFormat format, unsigned jobs,
                          const ReportRenderer& render, const OutputSink& sink) {
  return verify_many(by_platform(verifiers), policy, inputs, format, jobs, render, sink);
}

core::Result<std::vector<VerifyInput>> read_jsonl_inputs(std::string_view text, std::string_view source,
                                                         std::deque<std::string>& unescaped) {
  std::vector<VerifyInput> out;
  size_t line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    if (line.find_first_not_of(" \t\r\n\f\v") == std::string_view::npos) continue;
    std::string name = fmt::format("{}:{}", source, line_no);
    // The common line, a string of plain ASCII (base64) with nothing to
    // unescape, is its own content: the parser built it a character at a
    // time (~80 instructions a byte, more than verifying the quote).
    constexpr std::string_view json_space = " \t\r\n";
    auto value = line.substr(line.find_first_not_of(json_space));
    value = value.substr(0, value.find_last_not_of(json_space) + 1);
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      auto inner = value.substr(1, value.size() - 2);
      if (core::json_plain(inner)) {
        out.push_back({std::move(name), inner});
        continue;
      }
    }
    auto doc = core::Json::parse(line, nullptr, false);
    // A deque's elements stay where they are as it grows: the views hold.
    if (doc.is_string()) {
      out.push_back({name, unescaped.emplace_back(doc.get<std::string>())});
      continue;
    }
    if (doc.is_object() && doc.contains("quote") && doc["quote"].is_string()) {
      if (doc.contains("name") && doc["name"].is_string()) name = doc["name"].get<std::string>();
      out.push_back({name, unescaped.emplace_back(doc["quote"].get<std::string>())});
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
