// Real CC event logs of TDX guests (tests/data/eventlogs, from google/go-eventlog):
// the replay equals the RTMRs recorded with them; a real log cut short or
// with a damaged record is a named error; a real quote whose RTMRs differ
// from the replay fails the policy on those registers.
#include "support/fixtures.hpp"

#include "tdxctl/core/fs.hpp"
#include "tdxctl/core/hex.hpp"
#include "tdxctl/measure/event_log.hpp"
#include "tdxctl/measure/event_types.hpp"
#include "tdxctl/measure/log_policy.hpp"
#include "tdxctl/quote/policy.hpp"
#include "tdxctl/quote/quote.hpp"

#include <catch2/catch.hpp>

using namespace tdx;

namespace {

std::string log_file(const char* name) {
  return core::value_or_throw(core::read_file(test::testdata() / "eventlogs" / name));
}

measure::EventLog parse(const std::string& bytes) {
  return core::value_or_throw(measure::parse_event_log(core::as_bytes(bytes), "CCEL"));
}

} // namespace

TEST_CASE("real CC event logs replay to their recorded RTMRs", "[measure]") {
  auto padded = parse(log_file("cos-113-intel-tdx.bin"));
  CHECK(measure::digest_hex(padded.rtmr[0]) ==
        "3fa2f61f395b7f5feefb4ec2df61297f109ad8abcd6410c1b7df60f21f37b19297fc35e544039c7e1edece752afd17f6");
  CHECK(measure::digest_hex(padded.rtmr[1]) ==
        "f62dbc072bd5d3f3438b7b35c39a727f5aea2ffc2473f43723953f530daf62504f0a7944aa62c41a86e8a878c2b122c1");
  CHECK(measure::digest_hex(padded.rtmr[2]) ==
        "4969684dc87381fc3b3134176c8d8806eaf0a901859f5f70cfae8d17714b46c10a8de219048c9fc09f11f381a6fbe7c1");
  CHECK(padded.rtmr[3] == measure::Digest{});
  // TDVF's RTMR1 opening as edk2 TdTcg2Dxe logs it at ReadyToBoot.
  auto first_rtmr1 = std::find_if(padded.events.begin(), padded.events.end(),
                                  [](const auto& e) { return e.mr_index == 2; });
  REQUIRE(first_rtmr1 != padded.events.end());
  CHECK(first_rtmr1->event_type == measure::EV_EFI_ACTION);
  CHECK(measure::event_description(*first_rtmr1) == "Calling EFI Application from Boot Option");
  CHECK(std::next(first_rtmr1)->event_type == measure::EV_SEPARATOR);
  CHECK(measure::event_description(padded.events.back()) == "Exit Boot Services Returned with Success");

  auto unpadded = parse(log_file("cos-113-intel-tdx-dupe-separator-unpadded.bin"));
  CHECK(measure::digest_hex(unpadded.rtmr[0]) ==
        "a4de2df23e9611299123ba4359c42a5e578b0f8488bf1bba8ef5606d9ea5d81c97c064b482a5eac537d166bd0f0f752d");
  CHECK(measure::digest_hex(unpadded.rtmr[1]) ==
        "0ee9366c928a77092f55e9e114c7394181fd264699155f0df77d23577618d5f650568a17d379355a07bd846e552f4e20");
}

TEST_CASE("a real log cut short or damaged is a named error", "[measure]") {
  auto bytes = log_file("cos-113-intel-tdx-dupe-separator-unpadded.bin");
  auto cut = measure::parse_event_log(core::as_bytes(bytes.substr(0, 9000)), "CCEL");
  REQUIRE_FALSE(cut);
  CHECK(cut.error().code == "eventlog.truncated");
  CHECK(cut.error().category == core::Category::invalid_input);
  CHECK(core::exit_code(cut.error().category) == 2);
  auto log = parse(bytes);
  auto damaged = bytes;
  damaged[log.events[5].offset + 8] = 9; // its digest count
  auto bad = measure::parse_event_log(core::as_bytes(damaged), "CCEL");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == "eventlog.corrupt");
  CHECK_THAT(bad.error().message, Catch::Contains(std::to_string(log.events[5].offset + 8)));
}

TEST_CASE("quote verify --event-log: a real quote from another TD fails on its RTMRs", "[measure]") {
  auto raw = core::value_or_throw(
      core::read_file(test::testdata() / "quotes/tdx-v4-b0c06f-uptodate/quote.bin"));
  auto quote = core::value_or_throw(quote::parse_quote(core::as_bytes(raw)));
  auto log = parse(log_file("cos-113-intel-tdx.bin"));
  quote::Policy policy;
  REQUIRE(measure::pin_replayed_rtmrs(policy, log, "CCEL"));
  quote::Verdict verified;
  verified.verified = true;
  verified.status = "UpToDate";
  policy.allow_debug = true; // this sample quote may come from a debug TD; RTMRs are the point
  auto result = quote::evaluate_policy(policy, quote, verified);
  CHECK_FALSE(result.passed);
  std::vector<std::string> checks;
  for (const auto& f : result.failures) checks.push_back(f.check);
  CHECK(std::find(checks.begin(), checks.end(), "rtmr0") != checks.end());
  CHECK(std::find(checks.begin(), checks.end(), "rtmr1") != checks.end());

  // The same policy with the quote's own RTMRs as the "replay": it passes.
  measure::EventLog own;
  for (size_t r = 0; r < 4; ++r)
    std::copy(quote.td->rtmr[r].begin(), quote.td->rtmr[r].end(), own.rtmr[r].begin());
  quote::Policy matching;
  matching.allow_debug = true;
  REQUIRE(measure::pin_replayed_rtmrs(matching, own, "CCEL"));
  CHECK(quote::evaluate_policy(matching, quote, verified).passed);
}
