#include "tdxctl/measure/report.hpp"

#include "tdxctl/core/fs.hpp"
#include "tdxctl/core/hex.hpp"
#include "tdxctl/measure/event_types.hpp"

#include <cstring>
#include <ostream>

#include <fmt/format.h>

namespace tdx::measure {
namespace {

constexpr std::string_view kUnknown = "unknown";

core::Error bad(std::string_view name, std::string what) {
  return core::Error{core::Category::invalid_input, "measure.json",
                     fmt::format("{}: {}", name, what),
                     "pass the output of `tdxctl image measure ... -o json`"};
}

core::Result<Digest> digest_field(const core::Json& v, std::string_view name, std::string key) {
  if (!v.is_string()) return std::unexpected(bad(name, key + ": expected a hex string"));
  auto bytes = core::from_hex(v.get<std::string>(), key);
  if (!bytes || bytes->size() != 48)
    return std::unexpected(bad(name, key + ": expected 96 hex digits (SHA-384)"));
  Digest d{};
  std::memcpy(d.data(), bytes->data(), d.size());
  return d;
}

} // namespace

core::Json prediction_to_json(const Prediction& p) {
  core::Json doc;
  doc["mrtd"] = digest_hex(p.mrtd);
  core::Json rtmr = core::Json::array();
  core::Json unknown = core::Json::object();
  for (int r = 0; r < 4; ++r) {
    if (p.rtmr[r]) {
      rtmr.push_back(digest_hex(*p.rtmr[r]));
    } else {
      rtmr.push_back(kUnknown);
      unknown[register_name(r)] = p.unknown_reason[r];
    }
  }
  doc["rtmr"] = rtmr;
  doc["unknown"] = unknown;
  core::Json events = core::Json::array();
  for (const auto& e : p.events)
    events.push_back({{"register", register_name(e.rtmr)},
                      {"event_type", event_type_name(e.event_type)},
                      {"event_type_value", e.event_type},
                      {"name", e.name},
                      {"digest", digest_hex(e.digest)}});
  doc["events"] = events;
  doc["kernel_stub_cc_measurement"] = p.stub_measures_to_cc;
  return doc;
}

void print_prediction(std::ostream& os, const Prediction& p) {
  os << "mrtd:  " << digest_hex(p.mrtd) << "\n";
  for (int r = 0; r < 4; ++r)
    os << register_name(r) << ": " << (p.rtmr[r] ? digest_hex(*p.rtmr[r]) : std::string(kUnknown))
       << "\n";
  for (int r = 0; r < 4; ++r)
    if (!p.rtmr[r]) os << "  " << register_name(r) << ": " << p.unknown_reason[r] << "\n";
  if (!p.stub_measures_to_cc)
    os << "note: the kernel's EFI stub has no CC measurement support (Linux < 6.10): it "
          "measures neither command line nor initrd, so RTMR2 stays zero\n";
  os << "\nevents:\n";
  core::Table t({"REGISTER", "EVENT TYPE", "NAME", "DIGEST"});
  for (const auto& e : p.events)
    t.row({register_name(e.rtmr), event_type_name(e.event_type), e.name, digest_hex(e.digest)});
  t.print(os);
}

core::Result<ReferenceValues> parse_measure_json(std::string_view text, std::string_view name) {
  auto doc = core::Json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return std::unexpected(bad(name, "not a JSON object"));
  ReferenceValues rv;
  if (!doc.contains("mrtd")) return std::unexpected(bad(name, "no \"mrtd\""));
  auto mrtd = digest_field(doc["mrtd"], name, "mrtd");
  if (!mrtd) return std::unexpected(mrtd.error());
  rv.mrtd = *mrtd;
  if (!doc.contains("rtmr") || !doc["rtmr"].is_array() || doc["rtmr"].size() != 4)
    return std::unexpected(bad(name, "\"rtmr\": expected an array of 4 values"));
  for (size_t r = 0; r < 4; ++r) {
    const auto& v = doc["rtmr"][r];
    if (v.is_string() && v.get<std::string>() == kUnknown) continue;
    auto d = digest_field(v, name, fmt::format("rtmr[{}]", r));
    if (!d) return std::unexpected(d.error());
    rv.rtmr[r] = *d;
  }
  return rv;
}

core::Result<ReferenceValues> load_measure_json(const std::filesystem::path& path) {
  auto text = core::read_file(path);
  if (!text) return std::unexpected(text.error());
  return parse_measure_json(*text, path.string());
}

} // namespace tdx::measure
