// Both sources are read under --root, so tests give the sysfs attribute a
// fake value; the ioctl needs the real driver.
#include "tdxctl/quote/own_measurements.hpp"

#include "tdxctl/quote/generate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace tdx::quote {

bool OwnMrConfigId::zero() const {
  return std::all_of(value.begin(), value.end(), [](uint8_t b) { return b == 0; });
}

core::Result<std::array<uint8_t, 48>> mr_config_id_of_td_report(std::span<const uint8_t> report) {
  if (report.size() != k_td_report_size)
    return core::fail(core::Category::failed, "quote.td_report_size",
                      fmt::format("TDREPORT is {} bytes; expected {}", report.size(), k_td_report_size));
  if (report[0] != 0x81)
    return core::fail(core::Category::failed, "quote.td_report_type",
                      fmt::format("TDREPORT type at byte 0 is 0x{:02x}; expected 0x81 (TDX)", report[0]));
  std::array<uint8_t, 48> out{};
  std::memcpy(out.data(), report.data() + k_td_report_mr_config_id, out.size());
  return out;
}

core::Result<OwnMrConfigId> read_own_mr_config_id(const core::Root& root) {
  OwnMrConfigId mr;
  auto sysfs = root.path(k_mr_config_id_sysfs);
  if (auto raw = root.read(k_mr_config_id_sysfs)) {
    if (raw->size() != mr.value.size())
      return core::fail(core::Category::failed, "quote.mr_config_id_size",
                        fmt::format("{} holds {} bytes; expected 48", sysfs.string(), raw->size()));
    std::memcpy(mr.value.data(), raw->data(), mr.value.size());
    mr.source = sysfs.string();
    return mr;
  }
  std::array<uint8_t, 64> report_data{}; // nothing to bind: only TDINFO is read
  auto report = get_td_report(root, report_data);
  if (!report)
    return core::fail(core::Category::not_ready, "quote.mr_config_id_unavailable",
                      fmt::format("cannot read this TD's MRCONFIGID: {} is absent (kernel before 6.16) and {}",
                                  sysfs.string(), report.error().message),
                      "load the tdx_guest module; a TD without it cannot prove its configuration");
  auto value = mr_config_id_of_td_report(*report);
  if (!value) return std::unexpected(value.error());
  mr.value = *value;
  mr.source = "TDREPORT (" + root.path("/dev/tdx_guest").string() + ")";
  return mr;
}

} // namespace tdx::quote
