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
  return core::json_from([&](core::JsonWriter& w) {
    w.begin_object();
    write_members(w);
    w.end_object();
  });
}

void VerifyReport::write_members(core::JsonWriter& w) const {
  w.field("name", name).field("accepted", accepted());
  if (input_error) {
    w.field("verified", false)
        .field("status", input_error->category == core::Category::not_ready ? "NO_COLLATERAL" : "INVALID_INPUT")
        .key("error")
        .begin_object()
        .field("code", input_error->code)
        .field("message", input_error->message)
        .end_object();
    return;
  }
  verdict.write_members(w);
  w.field("quote_version", quote->version).field("body_type", quote->body_type);
  if (quote->td) {
    quote->td->write_json(w.key("td_report"));
    write_td_attributes(w.key("td_attributes_decoded"), quote->td->td_attributes);
  }
  if (quote->sgx) quote->sgx->write_json(w.key("sgx_report"));
  policy.write_json(w.key("policy"));
}

void VerifyReport::print(std::ostream& os) const {
  os << name << ": ";
  if (input_error) {
    // The message names the input already ("q.bin: ..."), as it must when it
    // is the error of a one-quote verify; the line names it once.
    std::string_view message = input_error->message;
    if (message.starts_with(name) && message.substr(name.size()).starts_with(": "))
      message.remove_prefix(name.size() + 2);
    os << (input_error->category == core::Category::not_ready ? "NO COLLATERAL: " : "INVALID INPUT: ") << message
       << "\n";
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
  auto write = [&](core::JsonWriter& w) {
    w.begin_object().field("schema", "tdxctl.quote.verify/1");
    report.write_members(w);
    w.field("verify_time", verify_time).end_object();
  };
  if (indent < 0) { // one line, straight into the caller's buffer: no tree, no string per report
    core::JsonWriter w(out);
    write(w);
    return;
  }
  // replace: a certificate name or file name that is not UTF-8 must not abort the batch.
  std::string text = core::json_from(write).dump(2, ' ', false, core::Json::error_handler_t::replace);
  // An element of a pretty-printed array: every line one level deeper.
  std::string pad(static_cast<size_t>(indent), ' ');
  out += pad;
  for (char c : text) {
    out += c;
    if (c == '\n') out += pad;
  }
}

void append_report_text(const VerifyReport& report, std::string& out) {
  // One stream per thread, emptied per report: constructing a stream (its
  // locale) for each of thousands of reports cost more than printing them.
  thread_local std::ostringstream os;
  os.str({});
  os.clear();
  report.print(os);
  core::append_escaped_control(os.view(), out);
}

} // namespace tdx::quote
