// Other tables' forward chains that would drop tdxctl's traffic, found in
// `nft -j list ruleset` documents (the shape libnftables 1.0.6 prints; the
// netns integration test runs the same check against a live ruleset).
#include "tdxctl/net/foreign_forward.hpp"

#include <catch2/catch.hpp>

using namespace tdx;
using core::Json;

namespace {

Json chain(const std::string& family, const std::string& table, const std::string& name, const std::string& hook,
           const std::string& policy) {
  return Json{{"chain", {{"family", family}, {"table", table}, {"name", name}, {"handle", 1}, {"type", "filter"},
                         {"hook", hook}, {"prio", 0}, {"policy", policy}}}};
}

Json rule(const std::string& family, const std::string& table, const std::string& name, Json expr) {
  return Json{{"rule", {{"family", family}, {"table", table}, {"chain", name}, {"handle", 2}, {"expr", expr}}}};
}

Json iface(const std::string& key, Json right) {
  return Json{{"match", {{"op", "=="}, {"left", {{"meta", {{"key", key}}}}}, {"right", right}}}};
}

Json doc(std::vector<Json> items) {
  Json list = Json::array({Json{{"metainfo", {{"version", "1.0.6"}, {"json_schema_version", 1}}}}});
  for (auto& i : items) list.push_back(i);
  return Json{{"nftables", list}};
}

const Json k_accept = Json{{"accept", nullptr}};
const Json k_counter = Json{{"counter", {{"packets", 0}, {"bytes", 0}}}};

const std::vector<net::OwnForwardChain> k_own = {{"ip", "tdxctl", ""}};

} // namespace

TEST_CASE("forward_blockers: a foreign inet table with forward policy drop is named") {
  auto d = doc({Json{{"table", {{"family", "inet"}, {"name", "fw"}}}}, chain("inet", "fw", "forward", "forward", "drop"),
                chain("ip", "tdxctl", "forward", "forward", "accept"),
                rule("ip", "tdxctl", "forward", Json::array({iface("iifname", "br-tdx"), k_counter, k_accept}))});
  auto b = net::forward_blockers(d, "br-tdx", k_own);
  REQUIRE(b.size() == 1);
  CHECK(b[0].text() == "table inet fw chain forward (policy drop; nothing accepts traffic to or from br-tdx)");
}

TEST_CASE("forward_blockers: open in both directions, or not a drop, is no blocker") {
  auto base = chain("inet", "fw", "forward", "forward", "drop");
  auto in = rule("inet", "fw", "forward", Json::array({iface("iifname", "br-tdx"), iface("oifname", "eth0"), k_accept}));
  auto out = rule("inet", "fw", "forward",
                  Json::array({iface("oifname", Json{{"set", {"virbr0", "br-tdx"}}}), Json{{"jump", {{"target", "x"}}}}}));
  CHECK(net::forward_blockers(doc({base, in, out}), "br-tdx", k_own).empty());
  auto only_in = net::forward_blockers(doc({base, in}), "br-tdx", k_own);
  REQUIRE(only_in.size() == 1);
  CHECK(only_in[0].missing == "into br-tdx");
  auto only_out = net::forward_blockers(doc({base, out}), "br-tdx", k_own);
  REQUIRE(only_out.size() == 1);
  CHECK(only_out[0].missing == "from br-tdx");
  // Another bridge's accepts do not count.
  CHECK(net::forward_blockers(doc({base, in, out}), "br-other", k_own).size() == 1);
  // A match on the bridge with a drop verdict does not open it.
  auto dropping = rule("inet", "fw", "forward", Json::array({iface("oifname", "br-tdx"), Json{{"drop", nullptr}}}));
  CHECK(net::forward_blockers(doc({base, in, dropping}), "br-tdx", k_own).size() == 1);
  // Policy accept with no final drop; other hooks; other families.
  CHECK(net::forward_blockers(doc({chain("inet", "fw", "forward", "forward", "accept")}), "br-tdx", k_own).empty());
  CHECK(net::forward_blockers(doc({chain("inet", "fw", "input", "input", "drop")}), "br-tdx", k_own).empty());
  CHECK(net::forward_blockers(doc({chain("ip6", "fw", "forward", "forward", "drop")}), "br-tdx", k_own).empty());
  CHECK(net::forward_blockers(doc({chain("ip", "tdxctl", "forward", "forward", "drop")}), "br-tdx", k_own).empty());
}

TEST_CASE("forward_blockers: firewalld's final reject, and iptables' FORWARD DROP by backend") {
  // firewalld: policy accept, but the chain ends in an unconditional reject.
  auto fwd = chain("inet", "firewalld", "filter_FORWARD", "forward", "accept");
  auto reject = rule("inet", "firewalld", "filter_FORWARD",
                     Json::array({Json{{"reject", {{"type", "icmpx"}, {"expr", "admin-prohibited"}}}}}));
  auto b = net::forward_blockers(doc({fwd, reject}), "br-tdx", k_own);
  REQUIRE(b.size() == 1);
  CHECK(b[0].text() ==
        "table inet firewalld chain filter_FORWARD (a final unconditional reject; nothing accepts traffic to or from br-tdx)");
  // The reject is not last: a later rule may let traffic through; not flagged.
  auto later = rule("inet", "firewalld", "filter_FORWARD", Json::array({iface("oifname", "eth9"), k_accept}));
  CHECK(net::forward_blockers(doc({fwd, reject, later}), "br-tdx", k_own).empty());

  // Docker's iptables-nft FORWARD DROP: ours under the iptables backend (the
  // jump to TDXCTL-FORWARD is its first rule), a blocker for the nft table.
  auto docker = chain("ip", "filter", "FORWARD", "forward", "drop");
  CHECK(net::forward_blockers(doc({docker}), "br-tdx", {{"ip", "tdxctl", ""}, {"ip", "filter", "FORWARD"}}).empty());
  REQUIRE(net::forward_blockers(doc({docker}), "br-tdx", k_own).size() == 1);
  CHECK(net::forward_blockers(Json::object(), "br-tdx", k_own).empty());
}
