#pragma once
// A TD's CC event log (the ACPI CCEL table's log area, as
// /sys/firmware/acpi/tables/data/CCEL holds it): TCG2 crypto-agile format
// (TCG PC Client PFP spec, "Event Logging"): one TCG_PCR_EVENT with the
// "Spec ID Event03" header naming the digest algorithms and sizes, then
// TCG_PCR_EVENT2 records. In a CC log the PCRIndex field holds the UEFI CC
// MR index (UEFI 2.10 §38.4.1: 0 MRTD, 1..4 RTMR0..3), so RTMR = index - 1;
// TDVF maps PCR 1,7 -> 1, PCR 2..6 -> 2, PCR 8..15 -> 3 before logging.
// The unused tail of the area is 0xFF (edk2 fills it so) or zero.

#include "tdxctl/core/error.hpp"
#include "tdxctl/measure/digest.hpp"

#include <array>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace tdx::measure {

struct LogEvent {
  size_t offset = 0;
  uint32_t mr_index = 0;
  uint32_t event_type = 0;
  Digest digest{}; // the SHA-384 one (a CC log must carry it)
  std::vector<uint8_t> data;
};

struct EventLog {
  std::vector<std::pair<uint16_t, uint16_t>> algorithms; // (TPM_ALG_ID, digest size)
  std::vector<LogEvent> events;                          // after the Spec ID header
  std::array<Digest, 4> rtmr{};                          // replayed
};

core::Result<EventLog> parse_event_log(std::span<const uint8_t> bytes, std::string_view name);

// A readable name for an event: the action string, tag description,
// variable name, or blob description it carries.
std::string event_description(const LogEvent& e);

} // namespace tdx::measure
