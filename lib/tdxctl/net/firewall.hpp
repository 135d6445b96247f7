#pragma once
// tdxctl's firewall rules as a FirewallPlan: the full content of its own
// chains (TDXCTL-PREROUTING and TDXCTL-POSTROUTING in nat, TDXCTL-FORWARD in
// filter), each jumped to exactly once from the built-in chain of the same
// hook. Rendered as one iptables-restore text and applied atomically with
// --noflush, so every other rule on the host is left exactly as it was.

#include "tdxctl/core/runner.hpp"
#include "tdxctl/net/network_spec.hpp"

#include <map>
#include <string>
#include <vector>

namespace tdx::net {

struct OwnChain {
  const char* table;   // "nat" | "filter"
  const char* builtin; // the hook that jumps to it
  const char* name;
};
// The three chains, in the order they are rendered.
const std::vector<OwnChain>& own_chains();

// The desired rules, as iptables-save prints them ("-A TDXCTL-FORWARD ..."),
// so that they compare equal to the live ruleset on a re-run.
struct FirewallPlan {
  std::map<std::string, std::vector<std::string>> rules; // chain -> rules
};
FirewallPlan build_firewall(const NetSpec& spec);

struct RuleCounter {
  std::string chain;
  std::string rule;
  uint64_t packets = 0;
  uint64_t bytes = 0;
};

// What is live now, from `iptables-save -c`.
struct LiveFirewall {
  std::map<std::string, std::vector<std::string>> rules; // own chain -> rules (no counters)
  std::map<std::string, int> jumps;                      // own chain -> jumps from its built-in
  std::vector<RuleCounter> counters;                     // own chains' rules and the jumps
  bool has_any() const;
};
LiveFirewall parse_iptables_save(const std::string& text);

// True when the live chains hold exactly `plan` and each is jumped to once.
bool firewall_matches(const FirewallPlan& plan, const LiveFirewall& live);
// The iptables-restore --noflush text that turns `live` into `plan`: the
// chains are declared (which flushes them) and refilled; a missing jump is
// inserted first in its built-in chain, duplicate jumps are deleted.
std::string render_up(const FirewallPlan& plan, const LiveFirewall& live);
// The text that removes the jumps and the own chains present in `live`
// (empty when there is nothing of ours).
std::string render_down(const LiveFirewall& live);

// iptables-save -c through the runner (read-only).
LiveFirewall read_firewall(core::ProcessRunner& runner);
// iptables-restore -w --noflush with `ruleset` on stdin: all or nothing.
void apply_ruleset(core::ProcessRunner& runner, const std::string& ruleset);

} // namespace tdx::net
