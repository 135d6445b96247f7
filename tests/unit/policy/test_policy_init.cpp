// policy init: the written policy.yaml pins exactly the predicted values and
// reads back through the same loader `quote verify --policy` uses.
#include "tdxctl/core/hex.hpp"
#include "tdxctl/policy/policy_file.hpp"
#include "tdxctl/policy/policy_init.hpp"

#include <catch2/catch.hpp>

using namespace tdx;

TEST_CASE("policy init pins MRTD, predicted RTMRs and MRCONFIGID", "[policy]") {
  policy::PolicyInit pi;
  pi.values.mrtd.fill(0x11);
  pi.values.rtmr[1] = measure::Digest{};
  pi.values.rtmr[1]->fill(0x22);
  pi.values.rtmr[2] = measure::Digest{};
  pi.values.rtmr[2]->fill(0x33);
  pi.values.rtmr[3] = measure::Digest{};
  pi.mr_config_id = measure::Digest{};
  pi.mr_config_id->fill(0x44);
  pi.accept_tcb = {"UpToDate", "SWHardeningNeeded"};
  pi.source = "measure.json";
  auto text = policy::render_policy(pi);
  CHECK_THAT(text, Catch::Contains("not pinned"));
  auto p = policy::parse_policy(text, "policy.yaml");
  REQUIRE(p.mr_td.size() == 1);
  CHECK(p.mr_td[0][0] == 0x11);
  CHECK_FALSE(p.rtmr[0]); // unknown: not pinned
  REQUIRE(p.rtmr[1]);
  CHECK((*p.rtmr[1])[47] == 0x22);
  CHECK((*p.rtmr[2])[0] == 0x33);
  CHECK_FALSE(p.rtmr[3]); // the guest's to extend at run time
  REQUIRE(p.mr_config_id);
  CHECK((*p.mr_config_id)[5] == 0x44);
  CHECK(p.accept_tcb == std::vector<std::string>{"UpToDate", "SWHardeningNeeded"});
  CHECK_FALSE(p.allow_debug);
}

TEST_CASE("MRCONFIGID comes from a sha384sum-style file", "[policy]") {
  std::string hex(96, 'a');
  auto d = core::value_or_throw(policy::parse_sha384_file(hex + "  config.json\n", "c.sha384"));
  CHECK(d[0] == 0xaa);
  auto bad = policy::parse_sha384_file(hex.substr(0, 95), "c.sha384");
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message, Catch::Contains("c.sha384") && Catch::Contains("96 hex"));
}
