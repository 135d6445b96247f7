// Policy appraisal of a verified quote. Each check that fails records what
// was expected and what the quote holds, in hex, so an operator can update a
// pin or see which measurement changed without decoding the quote again.
#include "tdxctl/quote/policy.hpp"

#include <openssl/sha.h>

#include <algorithm>

#include <fmt/format.h>

namespace tdx::quote {

const std::vector<std::string>& tcb_status_names() {
  static const std::vector<std::string> names{
      "UpToDate", "SWHardeningNeeded", "ConfigurationNeeded", "ConfigurationAndSWHardeningNeeded",
      "OutOfDate", "OutOfDateConfigurationNeeded", "TDRelaunchAdvised",
      "TDRelaunchAdvisedConfigurationNeeded"};
  return names;
}

std::string unknown_tcb_status(const std::vector<std::string>& names) {
  const auto& valid = tcb_status_names();
  for (const auto& n : names)
    if (std::find(valid.begin(), valid.end(), n) == valid.end())
      return fmt::format("unknown TCB status '{}'; expected one or more of {}", n, fmt::join(valid, ", "));
  return {};
}

using core::to_hex;

void PolicyResult::write_json(core::JsonWriter& w) const {
  w.begin_object().field("passed", passed).key("failures").begin_array();
  for (const auto& f : failures)
    w.begin_object().field("check", f.check).field("expected", f.expected).field("actual", f.actual).end_object();
  w.end_array().end_object();
}

Blob<64> nonce_report_data(std::span<const uint8_t> nonce, std::span<const uint8_t> user_data) {
  Bytes message(nonce.begin(), nonce.end());
  message.insert(message.end(), user_data.begin(), user_data.end());
  Blob<64> out;
  SHA512(message.data(), message.size(), out.data());
  return out;
}

std::vector<std::string> pinned_values(const Policy& p) {
  std::vector<std::string> names;
  auto add = [&](const char* name, bool pinned) {
    if (pinned) names.emplace_back(name);
  };
  add("mr_td", !p.mr_td.empty());
  add("mr_seam", !p.mr_seam.empty());
  static const char* rtmr_names[] = {"rtmr0", "rtmr1", "rtmr2", "rtmr3"};
  for (size_t i = 0; i < 4; ++i) add(rtmr_names[i], p.rtmr[i].has_value());
  add("mr_config_id", p.mr_config_id.has_value());
  add("mr_owner", p.mr_owner.has_value());
  add("mr_owner_config", p.mr_owner_config.has_value());
  add("xfam", p.xfam.has_value());
  add("td_attributes", p.td_attributes.has_value());
  add("require_sept_ve_disable", p.require_sept_ve_disable);
  add("min_tee_tcb_svn", p.min_tee_tcb_svn.has_value());
  add("min_qe_svn", p.min_qe_svn.has_value());
  add("min_pce_svn", p.min_pce_svn.has_value());
  add("report_data", p.report_data.has_value());
  return names;
}

PolicyResult evaluate_policy(const Policy& p, const Quote& q, const Verdict& v) {
  PolicyResult r;
  auto fail = [&](std::string check, std::string expected, std::string actual) {
    r.failures.push_back(PolicyFailure{std::move(check), std::move(expected), std::move(actual)});
  };
  if (v.verified &&
      (v.status == "Revoked" ||
       std::find(p.accept_tcb.begin(), p.accept_tcb.end(), v.status) == p.accept_tcb.end()))
    fail("tcb_status", fmt::format("one of {}", fmt::join(p.accept_tcb, ", ")), v.status);
  if (v.pck) {
    if (p.min_pce_svn && v.pck->pcesvn < *p.min_pce_svn)
      fail("min_pce_svn", fmt::format(">= {}", *p.min_pce_svn), std::to_string(v.pck->pcesvn));
  }
  if (p.min_qe_svn && q.qe_report.isv_svn < *p.min_qe_svn)
    fail("min_qe_svn", fmt::format(">= {}", *p.min_qe_svn), std::to_string(q.qe_report.isv_svn));

  const Blob<64>& report_data = q.td ? q.td->report_data : q.sgx->report_data;
  if (p.report_data && *p.report_data != report_data)
    fail("report_data", to_hex(*p.report_data), to_hex(report_data));

  if (q.sgx) {
    if (!p.allow_debug && (q.sgx->attributes[0] & 0x02)) fail("debug", "ATTRIBUTES.DEBUG = 0", "1 (debug enclave)");
  }
  if (!q.td) {
    r.passed = r.failures.empty();
    return r;
  }
  const TdReport& td = *q.td;
  if (!p.allow_debug && td.debug())
    fail("debug", "TDATTRIBUTES.DEBUG = 0", "1 (debug TD: the host can read its memory)");
  if (p.require_sept_ve_disable && !(td.td_attributes[3] & 0x10))
    fail("sept_ve_disable", "TDATTRIBUTES.SEPT_VE_DISABLE = 1", "0");
  auto pin = [&](const char* name, const auto& expected, const auto& actual) {
    if (expected && *expected != actual) fail(name, to_hex(*expected), to_hex(actual));
  };
  auto any_of = [&](const char* name, const std::vector<Blob<48>>& list, const Blob<48>& actual) {
    if (list.empty() || std::find(list.begin(), list.end(), actual) != list.end()) return;
    std::vector<std::string> hexes;
    for (const auto& b : list) hexes.push_back(to_hex(b));
    fail(name, fmt::format("{}{}", list.size() > 1 ? "one of " : "", fmt::join(hexes, ", ")), to_hex(actual));
  };
  any_of("mr_td", p.mr_td, td.mr_td);
  any_of("mr_seam", p.mr_seam, td.mr_seam);
  static const char* rtmr_names[] = {"rtmr0", "rtmr1", "rtmr2", "rtmr3"};
  for (size_t i = 0; i < 4; ++i) pin(rtmr_names[i], p.rtmr[i], td.rtmr[i]);
  pin("mr_config_id", p.mr_config_id, td.mr_config_id);
  pin("mr_owner", p.mr_owner, td.mr_owner);
  pin("mr_owner_config", p.mr_owner_config, td.mr_owner_config);
  pin("xfam", p.xfam, td.xfam);
  pin("td_attributes", p.td_attributes, td.td_attributes);
  if (p.min_tee_tcb_svn)
    for (size_t i = 0; i < 16; ++i)
      if (td.tee_tcb_svn[i] < (*p.min_tee_tcb_svn)[i]) {
        fail("min_tee_tcb_svn", fmt::format("each component >= {}", to_hex(*p.min_tee_tcb_svn)),
             fmt::format("{} (component {} is lower)", to_hex(td.tee_tcb_svn), i));
        break;
      }
  r.passed = r.failures.empty();
  return r;
}

} // namespace tdx::quote
