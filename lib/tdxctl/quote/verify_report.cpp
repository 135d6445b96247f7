// Rendering a verification report. A batch renders thousands of these per
// second on every core, so the renderers append to a caller's buffer (reused
// from one quote to the next) instead of returning fresh strings.
#include "tdxctl/quote/verify_report.hpp"

#include "tdxctl/core/hex.hpp"
#include "tdxctl/core/terminal_text.hpp"
#include "tdxctl/quote/crypto.hpp"

#include <ostream>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace tdx::quote {

core::Json VerifyReport::to_json() const {
  core::Json j = core::Json::object();
  add_to_json(j);
  return j;
}

void VerifyReport::add_to_json(core::Json& j) const {
  j["name"] = name;
  j["accepted"] = accepted();
  if (input_error) {
    j["verified"] = false;
    j["status"] = input_error->category == core::Category::not_ready ? "NO_COLLATERAL" : "INVALID_INPUT";
    j["error"] = core::Json{{"code", input_error->code}, {"message", input_error->message}};
    return;
  }
  verdict.add_to_json(j);
  j["quote_version"] = quote->version;
  j["body_type"] = quote->body_type;
  if (quote->td) {
    j["td_report"] = quote->td->to_json();
    j["td_attributes_decoded"] = decode_td_attributes(quote->td->td_attributes);
  }
  if (quote->sgx) j["sgx_report"] = quote->sgx->to_json();
  j["policy"] = policy.to_json();
}

void VerifyReport::print(std::ostream& os) const {
  os << name << ": ";
  if (input_error) {
    os << (input_error->category == core::Category::not_ready ? "NO COLLATERAL: " : "INVALID INPUT: ")
       << input_error->message << "\n";
    return;
  }
  if (!verdict.verified) {
    os << "FAILED at " << verdict.failure->step << ": " << verdict.failure->status << "\n  "
       << verdict.failure->message << "\n";
    return;
  }
  os << (accepted() ? "OK" : "REJECTED") << " (TCB " << verdict.status << ", TCB date "
     << format_time(verdict.tcb.date) << ")\n";
  if (!verdict.tcb.advisories.empty())
    os << "  advisories: " << fmt::format("{}", fmt::join(verdict.tcb.advisories, ", ")) << "\n";
  if (verdict.launch && verdict.current)
    os << "  launch TCB " << verdict.launch->status << ", current TCB " << verdict.current->status << "\n";
  if (verdict.pck)
    os << "  FMSPC " << core::to_hex(verdict.pck->fmspc) << ", PCK CA " << verdict.pck->ca
       << ", collateral valid until " << format_time(verdict.collateral_expires)
       << (verdict.collateral_expired ? " (EXPIRED, accepted by --allow-expired-collateral)" : "") << "\n";
  if (quote->td) os << "  MRTD " << core::to_hex(quote->td->mr_td) << "\n";
  for (const auto& f : policy.failures)
    os << "  policy " << f.check << ": expected " << f.expected << ", got " << f.actual << "\n";
}

void append_report_json(const VerifyReport& report, std::string_view verify_time, int indent,
                        std::string& out) {
  core::Json doc{{"schema", "tdxctl.quote.verify/1"}};
  report.add_to_json(doc);
  doc["verify_time"] = verify_time;
  // replace: a certificate name or file name that is not UTF-8 must not abort the batch.
  if (indent <= 0) { // straight into the caller's buffer: no string per report
    nlohmann::detail::serializer<core::Json>(nlohmann::detail::output_adapter<char>(out), ' ',
                                             core::Json::error_handler_t::replace)
        .dump(doc, indent == 0, false, 2);
    return;
  }
  std::string text = doc.dump(2, ' ', false, core::Json::error_handler_t::replace);
  // An element of a pretty-printed array: every line one level deeper.
  std::string pad(static_cast<size_t>(indent), ' ');
  out += pad;
  for (char c : text) {
    out += c;
    if (c == '\n') out += pad;
  }
}

void append_report_text(const VerifyReport& report, std::string& out) {
  std::ostringstream os;
  report.print(os);
  out += core::escape_control(os.str());
}

} // namespace tdx::quote
