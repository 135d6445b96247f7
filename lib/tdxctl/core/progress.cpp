// Progress on stderr. No C++ progress-bar library is packaged in Debian 12,
// so this is the ~100 lines CONVENTIONS §5 allows: redraws throttled to 10/s,
// plain lines at most every 2 s, NDJSON for CI that parses progress.
#include "tdxctl/core/progress.hpp"

#include <chrono>
#include <cstdio>
#include <string>
#include <unistd.h>

namespace tdx::core {
namespace {

using Clock = std::chrono::steady_clock;

class StderrProgress final : public ProgressSink {
public:
  explicit StderrProgress(ProgressMode mode) : m_mode(mode) {}
  ~StderrProgress() override { finish_bar(); }

  void step(size_t index, size_t total, std::string_view name) override {
    finish_bar();
    m_name = name;
    m_started = Clock::now();
    if (m_mode == ProgressMode::json)
      std::fprintf(stderr, "{\"event\":\"step\",\"index\":%zu,\"total\":%zu,\"name\":\"%s\"}\n",
                   index, total, m_name.c_str());
    else
      std::fprintf(stderr, "[%zu/%zu] %s\n", index, total, m_name.c_str());
  }

  void advance(uint64_t done, uint64_t total) override {
    auto now = Clock::now();
    auto gap = m_mode == ProgressMode::bar ? std::chrono::milliseconds(100)
                                           : std::chrono::milliseconds(2000);
    if (now - m_last < gap && done != total) return;
    m_last = now;
    double pct = total ? 100.0 * static_cast<double>(done) / static_cast<double>(total) : 0;
    if (m_mode == ProgressMode::json) {
      std::fprintf(stderr, "{\"event\":\"progress\",\"done\":%llu,\"total\":%llu}\n",
                   static_cast<unsigned long long>(done), static_cast<unsigned long long>(total));
    } else if (m_mode == ProgressMode::bar) {
      int filled = static_cast<int>(pct / 100 * 30);
      std::fprintf(stderr, "\r  [%s%s] %5.1f%%", std::string(filled, '#').c_str(),
                   std::string(30 - filled, ' ').c_str(), pct);
      m_bar_open = true;
    } else {
      std::fprintf(stderr, "  %s: %.1f%%\n", m_name.c_str(), pct);
    }
  }

private:
  void finish_bar() {
    if (m_bar_open) std::fputc('\n', stderr);
    m_bar_open = false;
  }
  ProgressMode m_mode;
  std::string m_name;
  Clock::time_point m_started{}, m_last{};
  bool m_bar_open = false;
};

} // namespace

std::unique_ptr<ProgressSink> make_stderr_progress(ProgressMode mode) {
  if (mode == ProgressMode::none) return std::make_unique<NullProgress>();
  if (mode == ProgressMode::automatic)
    mode = ::isatty(2) ? ProgressMode::bar : ProgressMode::plain;
  return std::make_unique<StderrProgress>(mode);
}

} // namespace tdx::core
