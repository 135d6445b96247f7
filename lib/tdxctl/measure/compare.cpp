#include "tdxctl/measure/compare.hpp"

#include "tdxctl/measure/event_types.hpp"

#include <fmt/format.h>

namespace tdx::measure {
namespace {

std::string describe(const PredictedEvent& e) {
  return fmt::format("{} \"{}\" {}", event_type_name(e.event_type), e.name, digest_hex(e.digest));
}
std::string describe(const LogEvent& e) {
  return fmt::format("{} \"{}\" {} (log offset {})", event_type_name(e.event_type),
                     event_description(e), digest_hex(e.digest), e.offset);
}

} // namespace

std::vector<EventDifference> compare_with_log(const Prediction& p, const EventLog& log) {
  std::vector<EventDifference> out;
  for (int r = 0; r < 4; ++r) {
    if (!p.rtmr[r]) continue;
    std::vector<const PredictedEvent*> want;
    for (const auto& e : p.events)
      if (e.rtmr == r) want.push_back(&e);
    std::vector<const LogEvent*> got;
    for (const auto& e : log.events)
      if (e.event_type != EV_NO_ACTION && static_cast<int>(e.mr_index) - 1 == r) got.push_back(&e);
    size_t n = std::max(want.size(), got.size());
    for (size_t i = 0; i < n; ++i) {
      const PredictedEvent* w = i < want.size() ? want[i] : nullptr;
      const LogEvent* g = i < got.size() ? got[i] : nullptr;
      if (w && g && w->digest == g->digest) continue;
      EventDifference d;
      d.rtmr = r;
      d.index = i;
      if (w) d.predicted = *w;
      if (g) d.logged = *g;
      if (w && g)
        d.message = fmt::format("{} event {}: predicted {}, the log has {}", register_name(r), i,
                                describe(*w), describe(*g));
      else if (w)
        d.message = fmt::format("{} event {}: predicted {}, the log ends", register_name(r), i,
                                describe(*w));
      else
        d.message = fmt::format("{} event {}: the log has {}, not predicted", register_name(r), i,
                                describe(*g));
      out.push_back(std::move(d));
      break; // later events of this register follow from the first difference
    }
  }
  return out;
}

} // namespace tdx::measure
