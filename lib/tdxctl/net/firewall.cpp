// The scripts this replaces appended rules one by one to the built-in chains
// (`iptables -C || -A`), mixed with everyone else's, and left debris when
// interrupted. Here tdxctl owns three chains whose whole content is rendered
// as text and loaded in one iptables-restore transaction (iptables-nft on
// Debian 12 commits it as a single nf_tables batch). Re-runs compare the live
// chains, read back with iptables-save, against the rendered rules, which are
// written in iptables-save's canonical form for exactly that purpose.
#include "tdxctl/net/firewall.hpp"

#include <sstream>

namespace tdx::net {

const std::vector<OwnChain>& own_chains() {
  static const std::vector<OwnChain> chains = {
      {"nat", "PREROUTING", "TDXCTL-PREROUTING"},
      {"nat", "POSTROUTING", "TDXCTL-POSTROUTING"},
      {"filter", "FORWARD", "TDXCTL-FORWARD"},
  };
  return chains;
}

static std::string port_match(const PortForward& f, uint16_t first, uint16_t last) {
  std::string s = "-p " + f.proto + " -m " + f.proto + " --dport " + std::to_string(first);
  if (last != first) s += ":" + std::to_string(last);
  return s;
}

FirewallPlan build_firewall(const NetSpec& spec) {
  FirewallPlan plan;
  // Names go into the text unquoted (iptables-save's canonical form), so
  // they are checked again here: a space, quote or '#' would change the rule.
  const std::string pub = rule_ifname(spec.public_interface), br = rule_ifname(spec.bridge);
  const std::string vm = ipv4_text(spec.vm_address);
  auto& pre = plan.rules["TDXCTL-PREROUTING"];
  auto& post = plan.rules["TDXCTL-POSTROUTING"];
  auto& fwd = plan.rules["TDXCTL-FORWARD"];
  for (const auto& f : spec.forwards) {
    std::string to = vm;
    if (f.first == f.last) to += ":" + std::to_string(f.guest);
    pre.push_back("-A TDXCTL-PREROUTING -i " + pub + " " + port_match(f, f.first, f.last) +
                  " -j DNAT --to-destination " + to);
  }
  post.push_back("-A TDXCTL-POSTROUTING -s " + spec.bridge_address.network_text() + " -o " + pub +
                 " -j MASQUERADE");
  fwd.push_back("-A TDXCTL-FORWARD -i " + pub + " -o " + br +
                " -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT");
  fwd.push_back("-A TDXCTL-FORWARD -i " + br + " -o " + pub + " -j ACCEPT");
  // New connections to the forwarded ports (after DNAT, so the guest ports):
  // without this the forwards only work while FORWARD's policy is ACCEPT,
  // which Docker, ufw and firewalld all change.
  for (const auto& f : spec.forwards) {
    uint16_t first = f.first == f.last ? f.guest : f.first;
    uint16_t last = f.first == f.last ? f.guest : f.last;
    fwd.push_back("-A TDXCTL-FORWARD -d " + vm + "/32 -i " + pub + " -o " + br + " " +
                  port_match(f, first, last) + " -m conntrack --ctstate NEW -j ACCEPT");
  }
  return plan;
}

bool LiveFirewall::has_any() const {
  for (const auto& [chain, n] : jumps)
    if (n > 0) return true;
  return !rules.empty();
}

static bool is_own(const std::string& chain) {
  for (const auto& c : own_chains())
    if (chain == c.name) return true;
  return false;
}

LiveFirewall parse_iptables_save(const std::string& text) {
  LiveFirewall live;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#' || line[0] == '*' || line == "COMMIT") continue;
    if (line[0] == ':') {
      auto name = line.substr(1, line.find(' ') - 1);
      if (is_own(name)) live.rules[name];
      continue;
    }
    RuleCounter counter;
    if (line[0] == '[') {
      auto close = line.find(']');
      auto colon = line.find(':');
      if (close == std::string::npos || colon == std::string::npos || colon > close) continue;
      counter.packets = std::stoull(line.substr(1, colon - 1));
      counter.bytes = std::stoull(line.substr(colon + 1, close - colon - 1));
      line = line.substr(close + 2);
    }
    if (line.rfind("-A ", 0) != 0) continue;
    auto chain = line.substr(3, line.find(' ', 3) - 3);
    counter.chain = chain;
    counter.rule = line;
    if (is_own(chain)) {
      live.rules[chain].push_back(line);
      live.counters.push_back(counter);
      continue;
    }
    for (const auto& c : own_chains())
      if (chain == c.builtin && line == "-A " + chain + " -j " + c.name) {
        ++live.jumps[c.name];
        live.counters.push_back(counter);
      }
  }
  return live;
}

bool firewall_matches(const FirewallPlan& plan, const LiveFirewall& live) {
  for (const auto& c : own_chains()) {
    auto want = plan.rules.find(c.name);
    auto have = live.rules.find(c.name);
    if (have == live.rules.end()) return false;
    if ((want == plan.rules.end() ? std::vector<std::string>{} : want->second) != have->second)
      return false;
    auto j = live.jumps.find(c.name);
    if (j == live.jumps.end() || j->second != 1) return false;
  }
  return true;
}

static int jumps_of(const LiveFirewall& live, const std::string& chain) {
  auto it = live.jumps.find(chain);
  return it == live.jumps.end() ? 0 : it->second;
}

std::string render_up(const FirewallPlan& plan, const LiveFirewall& live) {
  std::string out;
  for (const char* table : {"nat", "filter"}) {
    out += std::string("*") + table + "\n";
    for (const auto& c : own_chains())
      if (table == std::string(c.table)) out += std::string(":") + c.name + " - [0:0]\n";
    for (const auto& c : own_chains()) {
      if (table != std::string(c.table)) continue;
      if (auto it = plan.rules.find(c.name); it != plan.rules.end())
        for (const auto& r : it->second) out += r + "\n";
    }
    for (const auto& c : own_chains()) {
      if (table != std::string(c.table)) continue;
      int n = jumps_of(live, c.name);
      if (n == 0) out += std::string("-I ") + c.builtin + " 1 -j " + c.name + "\n";
      for (int i = 1; i < n; ++i) out += std::string("-D ") + c.builtin + " -j " + c.name + "\n";
    }
    out += "COMMIT\n";
  }
  return out;
}

std::string render_down(const LiveFirewall& live) {
  std::string out;
  for (const char* table : {"nat", "filter"}) {
    std::string body;
    for (const auto& c : own_chains()) {
      if (table != std::string(c.table)) continue;
      for (int i = 0; i < jumps_of(live, c.name); ++i)
        body += std::string("-D ") + c.builtin + " -j " + c.name + "\n";
    }
    for (const auto& c : own_chains()) {
      if (table != std::string(c.table) || !live.rules.contains(c.name)) continue;
      body += std::string("-F ") + c.name + "\n-X " + c.name + "\n";
    }
    if (!body.empty()) out += std::string("*") + table + "\n" + body + "COMMIT\n";
  }
  return out;
}

LiveFirewall read_firewall(core::ProcessRunner& runner) {
  core::Command cmd;
  cmd.argv = {"iptables-save", "-c"};
  cmd.timeout = std::chrono::seconds(30);
  auto done = core::run_checked(runner, cmd, "reading the firewall (iptables-save)");
  return parse_iptables_save(done.out);
}

void apply_ruleset(core::ProcessRunner& runner, const std::string& ruleset) {
  if (ruleset.empty()) return;
  core::Command cmd;
  cmd.argv = {"iptables-restore", "-w", "--noflush"};
  cmd.stdin_data = ruleset;
  cmd.timeout = std::chrono::seconds(60);
  core::run_checked(runner, cmd, "loading the tdxctl ruleset (iptables-restore)");
}

} // namespace tdx::net
