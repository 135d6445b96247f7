#pragma once
// The `image measure` document (schema tdxctl.image.measure/1) and the
// reading of it back by `policy init --from-measure`:
//
//   {"mrtd": "<96 hex>",
//    "rtmr": ["unknown" | "<96 hex>", x4],
//    "unknown": {"rtmr0": "<why>"},
//    "events": [{"register": "rtmr1", "event_type": "EV_EFI_ACTION",
//                "event_type_value": 2147483655, "name": "...", "digest": "<96 hex>"}],
//    "kernel_stub_cc_measurement": true}

#include "tdxctl/core/output.hpp"
#include "tdxctl/measure/direct_boot.hpp"

#include <filesystem>
#include <iosfwd>

namespace tdx::measure {

inline constexpr std::string_view kMeasureSchema = "tdxctl.image.measure/1";

core::Json prediction_to_json(const Prediction& p);
void print_prediction(std::ostream& os, const Prediction& p);

// The reference values of a measure document: MRTD and the RTMRs it
// predicted (nullopt where it said "unknown").
struct ReferenceValues {
  Digest mrtd{};
  std::array<std::optional<Digest>, 4> rtmr;
};
core::Result<ReferenceValues> load_measure_json(const std::filesystem::path& path);
core::Result<ReferenceValues> parse_measure_json(std::string_view text, std::string_view name);

} // namespace tdx::measure
