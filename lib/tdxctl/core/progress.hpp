#pragma once
// How long-running library code reports progress without printing: it takes
// a ProgressSink& (ccache's callback idea). cmd/ picks the implementation:
// a bar on a TTY, plain throttled lines otherwise, NDJSON, or nothing.

#include <cstdint>
#include <memory>
#include <string_view>

namespace tdx::core {

class ProgressSink {
public:
  virtual ~ProgressSink() = default;
  // A new named step `index` (1-based) of `total` begins.
  virtual void step(size_t index, size_t total, std::string_view name) = 0;
  // Work within the current step; `total` 0 means unknown.
  virtual void advance(uint64_t done, uint64_t total) = 0;
};

class NullProgress final : public ProgressSink {
public:
  void step(size_t, size_t, std::string_view) override {}
  void advance(uint64_t, uint64_t) override {}
};

enum class ProgressMode { automatic, bar, plain, json, none };

// A sink writing to stderr in the given mode (automatic: bar on a TTY, else plain).
std::unique_ptr<ProgressSink> make_stderr_progress(ProgressMode mode);

} // namespace tdx::core
