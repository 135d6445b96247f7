// Reads the JSON form of the ruleset (the schema nft documents in
// libnftables-json(5)) rather than nft's text: chains, policies and rule
// expressions arrive as fields instead of something to re-parse.
#include "tdxctl/net/foreign_forward.hpp"

#include <map>
#include <set>
#include <tuple>

namespace tdx::net {

using core::Json;

std::string ForwardBlocker::text() const {
  return "table " + family + " " + table + " chain " + chain + " (" + drops + "; nothing accepts traffic " +
         missing + ")";
}

namespace {

bool names_bridge(const Json& right, const std::string& bridge) {
  if (right.is_string()) return right.get<std::string>() == bridge;
  if (right.is_object() && right.contains("set") && right["set"].is_array())
    for (const auto& e : right["set"])
      if (e.is_string() && e.get<std::string>() == bridge) return true;
  return false;
}

// Which directions (iifname, oifname) a rule lets through for `bridge`.
std::pair<bool, bool> opens(const Json& expr, const std::string& bridge) {
  bool in = false, out = false, passes = false;
  for (const auto& e : expr) {
    if (!e.is_object()) continue;
    if (e.contains("accept") || e.contains("jump") || e.contains("goto")) passes = true;
    if (!e.contains("match")) continue;
    const auto& m = e["match"];
    auto op = m.value("op", "");
    if (op != "==" && op != "in") continue;
    if (!m.contains("left") || !m["left"].is_object() || !m["left"].contains("meta")) continue;
    auto key = m["left"]["meta"].value("key", "");
    if (!m.contains("right") || !names_bridge(m["right"], bridge)) continue;
    if (key == "iifname") in = true;
    if (key == "oifname") out = true;
  }
  return {passes && in, passes && out};
}

// "drop" / "reject" when the rule has no match at all, only a verdict (and
// counters or logging).
std::string unconditional_verdict(const Json& expr) {
  std::string verdict;
  for (const auto& e : expr) {
    if (!e.is_object() || e.size() != 1) return {};
    const auto& key = e.begin().key();
    if (key == "drop" || key == "reject") verdict = key;
    else if (key != "counter" && key != "log" && key != "limit") return {};
  }
  return verdict;
}

struct ChainSeen {
  std::string drops;
  bool in = false, out = false;
  std::string last_verdict; // of the chain's last rule, if unconditional
};

} // namespace

std::vector<ForwardBlocker> forward_blockers(const Json& ruleset, const std::string& bridge,
                                             const std::vector<OwnForwardChain>& own) {
  using Key = std::tuple<std::string, std::string, std::string>;
  auto is_own = [&](const Key& k) {
    for (const auto& o : own)
      if (o.family == std::get<0>(k) && o.table == std::get<1>(k) && (o.chain.empty() || o.chain == std::get<2>(k)))
        return true;
    return false;
  };
  std::map<Key, ChainSeen> chains;
  std::vector<Key> order;
  if (!ruleset.is_object() || !ruleset.contains("nftables") || !ruleset["nftables"].is_array()) return {};
  for (const auto& item : ruleset["nftables"]) {
    if (!item.is_object()) continue;
    if (item.contains("chain")) {
      const auto& c = item["chain"];
      auto family = c.value("family", "");
      if (c.value("hook", "") != "forward" || (family != "ip" && family != "inet")) continue;
      Key k{family, c.value("table", ""), c.value("name", "")};
      if (is_own(k)) continue;
      chains[k].drops = c.value("policy", "accept") == "drop" ? "policy drop" : "";
      order.push_back(k);
    } else if (item.contains("rule")) {
      const auto& r = item["rule"];
      Key k{r.value("family", ""), r.value("table", ""), r.value("chain", "")};
      auto it = chains.find(k);
      if (it == chains.end() || !r.contains("expr") || !r["expr"].is_array()) continue;
      auto [in, out] = opens(r["expr"], bridge);
      it->second.in |= in;
      it->second.out |= out;
      it->second.last_verdict = unconditional_verdict(r["expr"]);
    }
  }
  std::vector<ForwardBlocker> out;
  for (const auto& k : order) {
    const auto& c = chains[k];
    std::string drops = c.drops;
    if (drops.empty() && !c.last_verdict.empty()) drops = "a final unconditional " + c.last_verdict;
    if (drops.empty() || (c.in && c.out)) continue;
    std::string missing = !c.in && !c.out ? "to or from " + bridge : !c.out ? "into " + bridge : "from " + bridge;
    out.push_back({std::get<0>(k), std::get<1>(k), std::get<2>(k), drops, missing});
  }
  return out;
}

} // namespace tdx::net
