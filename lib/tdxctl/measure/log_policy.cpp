#include "tdxctl/measure/log_policy.hpp"

#include "tdxctl/core/hex.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace tdx::measure {

core::Result<void> pin_replayed_rtmrs(quote::Policy& policy, const EventLog& log,
                                      std::string_view log_name) {
  for (size_t r = 0; r < 4; ++r) {
    quote::Blob<48> replayed;
    std::copy(log.rtmr[r].begin(), log.rtmr[r].end(), replayed.begin());
    auto& pin = policy.rtmr[r];
    if (pin && *pin != replayed)
      return core::fail(core::Category::failed, "eventlog.policy_conflict",
                        fmt::format("{} replays RTMR{} to {}, but the policy pins {}", log_name, r,
                                    core::to_hex(replayed), core::to_hex(*pin)),
                        "the log is not from the TD the policy describes");
    pin = replayed;
  }
  return {};
}

} // namespace tdx::measure
