// This TD's MRCONFIGID: out of a TDREPORT's TDINFO, or the kernel's sysfs
// measurement register under --root; never guessed when neither is there.
#include "tdxctl/quote/own_measurements.hpp"

#include "support/fixtures.hpp"
#include "support/unlock_fixtures.hpp"

#include <catch2/catch.hpp>

using namespace tdx;

TEST_CASE("quote: MRCONFIGID out of a TDREPORT", "[quote]") {
  core::Bytes report(1024, 0xee);
  report[0] = 0x81;
  for (size_t i = 0; i < 48; ++i) report[576 + i] = static_cast<uint8_t>(i);
  auto mr = quote::mr_config_id_of_td_report(report);
  REQUIRE(mr);
  CHECK((*mr)[0] == 0);
  CHECK((*mr)[47] == 47);

  report[0] = 0x00; // an SGX report type
  auto sgx = quote::mr_config_id_of_td_report(report);
  REQUIRE_FALSE(sgx);
  CHECK(sgx.error().code == "quote.td_report_type");
  report.resize(1000);
  auto short_report = quote::mr_config_id_of_td_report(report);
  REQUIRE_FALSE(short_report);
  CHECK(short_report.error().code == "quote.td_report_size");
}

TEST_CASE("quote: the TD's own MRCONFIGID from sysfs, else the ioctl, else exit 3", "[quote]") {
  core::TempDir root;
  core::Root r(root.path());
  core::Bytes value(48);
  for (size_t i = 0; i < value.size(); ++i) value[i] = static_cast<uint8_t>(0xa0 + i);

  test::set_mr_config_id(root.path(), value);
  auto mr = quote::read_own_mr_config_id(r);
  REQUIRE(mr);
  CHECK(core::Bytes(mr->value.begin(), mr->value.end()) == value);
  CHECK_FALSE(mr->zero());
  CHECK(mr->source == (root / "sys/devices/virtual/misc/tdx_guest/measurements/mrconfigid").string());

  test::set_mr_config_id(root.path(), core::Bytes(48, 0));
  auto zero = quote::read_own_mr_config_id(r);
  REQUIRE(zero);
  CHECK(zero->zero());

  test::put(root.path(), "sys/devices/virtual/misc/tdx_guest/measurements/mrconfigid", std::string(47, 'x'));
  auto truncated = quote::read_own_mr_config_id(r);
  REQUIRE_FALSE(truncated);
  CHECK(truncated.error().code == "quote.mr_config_id_size");

  std::filesystem::remove(root / "sys/devices/virtual/misc/tdx_guest/measurements/mrconfigid");
  auto none = quote::read_own_mr_config_id(r);
  REQUIRE_FALSE(none);
  CHECK(none.error().category == core::Category::not_ready);
  CHECK(none.error().code == "quote.mr_config_id_unavailable");
  CHECK_THAT(none.error().message, Catch::Contains("/dev/tdx_guest"));
}
