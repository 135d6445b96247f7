#pragma once
// `image measure --compare-event-log`: where a TD's real boot left the
// predicted path. Compares, register by register, the predicted events with
// the log's (EV_NO_ACTION skipped) and names the first one that differs:
// what an operator needs when a TD fails policy.

#include "tdxctl/measure/direct_boot.hpp"
#include "tdxctl/measure/event_log.hpp"

#include <optional>
#include <string>
#include <vector>

namespace tdx::measure {

struct EventDifference {
  int rtmr = 0;
  size_t index = 0;               // position among that register's events
  std::optional<PredictedEvent> predicted;
  std::optional<LogEvent> logged;
  std::string message;
};

// Empty when every predicted register's events match the log exactly.
std::vector<EventDifference> compare_with_log(const Prediction& p, const EventLog& log);

} // namespace tdx::measure
