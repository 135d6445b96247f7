#pragma once
// `quote verify --event-log`: the log's replayed RTMRs become pins of the
// appraisal policy, so the quote is checked against them by the same policy
// code (and named mismatches) as any pin. A log that contradicts a pin the
// policy already has is an error of its own.

#include "tdxctl/measure/event_log.hpp"
#include "tdxctl/quote/policy.hpp"

namespace tdx::measure {

core::Result<void> pin_replayed_rtmrs(quote::Policy& policy, const EventLog& log,
                                      std::string_view log_name);

} // namespace tdx::measure
