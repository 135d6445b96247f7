#pragma once
// One event a TD's firmware or kernel is predicted to log: the register it
// extends, its TCG event type, a name for people, and the digest extended.

#include "tdxctl/measure/digest.hpp"

#include <cstdint>
#include <string>

namespace tdx::measure {

struct PredictedEvent {
  int rtmr = 0;
  uint32_t event_type = 0;
  std::string name;
  Digest digest{};
};

} // namespace tdx::measure
