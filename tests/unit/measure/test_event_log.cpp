// CC event log parse and replay: a synthesized crypto-agile log replays to
// RTMR = SHA-384 chains of its SHA-384 digests by MR index - 1; EV_NO_ACTION
// is not extended; a truncated or corrupted log is a named error (exit 2).
#include "unit/measure/builders.hpp"

#include "tdxctl/core/hex.hpp"
#include "tdxctl/measure/compare.hpp"
#include "tdxctl/measure/event_log.hpp"
#include "tdxctl/measure/event_types.hpp"
#include "tdxctl/measure/log_policy.hpp"

#include <catch2/catch.hpp>

using namespace tdx;

namespace {

std::string digest_bytes(std::string_view text) {
  auto d = measure::sha384(core::as_bytes(text));
  return std::string(d.begin(), d.end());
}

std::vector<test::LogRecord> sample_records() {
  std::string sep(4, '\0');
  std::string tag(8, '\0');
  test::put32(tag, 0, 0x8F3B22EC);
  test::put32(tag, 4, 13);
  tag += std::string("Linux initrd", 13);
  return {{1, 0x8000000A, digest_bytes("cfv"), std::string("\x03" "CFV", 4)},
          {2, measure::EV_EFI_ACTION, digest_bytes("Calling EFI Application from Boot Option"),
           "Calling EFI Application from Boot Option"},
          {2, measure::EV_SEPARATOR, digest_bytes(sep), sep},
          {0, measure::EV_NO_ACTION, std::string(48, '\0'), "StartupLocality"},
          {3, measure::EV_EVENT_TAG, digest_bytes("initrd"), tag}};
}

measure::Digest chain(std::initializer_list<std::string_view> digests) {
  measure::Digest r{};
  for (auto d : digests) {
    measure::Digest x{};
    std::copy(d.begin(), d.end(), x.begin());
    measure::extend(r, x);
  }
  return r;
}

core::Error log_error(const std::string& bytes) {
  auto r = measure::parse_event_log(core::as_bytes(bytes), "CCEL");
  REQUIRE_FALSE(r);
  return r.error();
}

} // namespace

TEST_CASE("a CC event log is parsed and replayed by MR index", "[measure]") {
  for (bool with_sha256 : {true, false}) {
    auto bytes = test::cc_event_log(sample_records(), with_sha256);
    auto log = core::value_or_throw(measure::parse_event_log(core::as_bytes(bytes), "CCEL"));
    REQUIRE(log.events.size() == 5);
    CHECK(log.rtmr[0] == chain({digest_bytes("cfv")}));
    std::string sep(4, '\0');
    CHECK(log.rtmr[1] ==
          chain({digest_bytes("Calling EFI Application from Boot Option"), digest_bytes(sep)}));
    CHECK(log.rtmr[2] == chain({digest_bytes("initrd")}));
    CHECK(log.rtmr[3] == measure::Digest{});
    CHECK(measure::event_description(log.events[0]) == "CFV");
    CHECK(measure::event_description(log.events[1]) == "Calling EFI Application from Boot Option");
    CHECK(measure::event_description(log.events[4]) == "Linux initrd");
  }
  // Zero fill after the events ends the log as 0xFF does.
  auto zero_tail = test::cc_event_log(sample_records(), true, 0) + std::string(100, '\0');
  CHECK(core::value_or_throw(measure::parse_event_log(core::as_bytes(zero_tail), "CCEL")).events.size() == 5);
}

TEST_CASE("a truncated event log is a named error", "[measure]") {
  auto bytes = test::cc_event_log(sample_records(), true, 0);
  auto e = log_error(bytes.substr(0, bytes.size() - 3));
  CHECK(e.code == "eventlog.truncated");
  CHECK(e.category == core::Category::invalid_input);
  CHECK_THAT(e.message, Catch::Contains("event data"));
  CHECK(log_error(bytes.substr(0, 20)).code == "eventlog.truncated");
  CHECK(log_error(bytes.substr(0, 40)).code == "eventlog.truncated");
}

TEST_CASE("a corrupted event log is a named error at its offset", "[measure]") {
  auto good = test::cc_event_log(sample_records());
  // The first TCG_PCR_EVENT2 starts after the 32-byte header and the Spec ID event.
  size_t first = 32 + 16 + 12 + 8 + 1;
  auto bad = good;
  test::put32(bad, first + 8, 7); // digest count
  auto e = log_error(bad);
  CHECK(e.code == "eventlog.corrupt");
  CHECK_THAT(e.message, Catch::Contains("byte offset " + std::to_string(first + 8)));
  bad = good;
  test::put16(bad, first + 12, 0x0004); // SHA-1: not declared
  CHECK_THAT(log_error(bad).message, Catch::Contains("not declared"));
  bad = good;
  test::put32(bad, first, 9); // MR index 9
  CHECK_THAT(log_error(bad).message, Catch::Contains("MR index 9"));
  bad = good;
  bad[32] = 'X'; // the Spec ID signature
  CHECK_THAT(log_error(bad).message, Catch::Contains("Spec ID Event03"));
  bad = good;
  test::put32(bad, 4, 1); // first event not EV_NO_ACTION
  CHECK_THAT(log_error(bad).message, Catch::Contains("EV_NO_ACTION"));
  auto no384 = good;
  test::put16(no384, 32 + 28 + 4, 0x000D); // SHA-384 declared as SHA-512
  CHECK(log_error(no384).code == "eventlog.corrupt");
}

TEST_CASE("the replay becomes RTMR pins; a contradicting pin is refused", "[measure]") {
  auto bytes = test::cc_event_log(sample_records());
  auto log = core::value_or_throw(measure::parse_event_log(core::as_bytes(bytes), "CCEL"));
  quote::Policy policy;
  REQUIRE(measure::pin_replayed_rtmrs(policy, log, "CCEL"));
  for (size_t r = 0; r < 4; ++r) {
    REQUIRE(policy.rtmr[r]);
    CHECK(std::equal(policy.rtmr[r]->begin(), policy.rtmr[r]->end(), log.rtmr[r].begin()));
  }
  quote::Policy other;
  other.rtmr[1] = quote::Blob<48>{};
  auto r = measure::pin_replayed_rtmrs(other, log, "CCEL");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == "eventlog.policy_conflict");
  CHECK_THAT(r.error().message, Catch::Contains("RTMR1"));
}

TEST_CASE("compare names the first event that differs from the prediction", "[measure]") {
  measure::Prediction p;
  p.rtmr[1] = measure::Digest{};
  p.rtmr[2] = measure::Digest{};
  std::string sep(4, '\0');
  auto d = [](std::string_view s) { return measure::sha384(core::as_bytes(s)); };
  p.events = {{1, measure::EV_EFI_ACTION, "Calling EFI Application from Boot Option",
               d("Calling EFI Application from Boot Option")},
              {1, measure::EV_SEPARATOR, "separator", d(sep)},
              {2, measure::EV_EVENT_TAG, "Linux initrd", d("other initrd")}};
  auto bytes = test::cc_event_log(sample_records());
  auto log = core::value_or_throw(measure::parse_event_log(core::as_bytes(bytes), "CCEL"));
  auto diffs = measure::compare_with_log(p, log);
  REQUIRE(diffs.size() == 1); // RTMR1 matches; RTMR0 is not predicted
  CHECK(diffs[0].rtmr == 2);
  CHECK(diffs[0].index == 0);
  CHECK_THAT(diffs[0].message, Catch::Contains("rtmr2 event 0") && Catch::Contains("Linux initrd"));
  p.events.pop_back();
  p.events.push_back({2, measure::EV_EVENT_TAG, "Linux initrd", d("initrd")});
  CHECK(measure::compare_with_log(p, log).empty());
  p.events.push_back({1, measure::EV_EFI_ACTION, "Exit Boot Services Invocation",
                      d("Exit Boot Services Invocation")});
  diffs = measure::compare_with_log(p, log);
  REQUIRE(diffs.size() == 1);
  CHECK_THAT(diffs[0].message, Catch::Contains("the log ends"));
}
