#pragma once
// `net up`, `net down` and `net status` as plans over the link, firewall,
// sysctl and state pieces. Planning probes the live namespace (netlink,
// iptables-save, /proc/sys) and fails before any change on a conflict;
// applying goes step by step with rollback (core::Plan).

#include "tdxctl/core/plan.hpp"
#include "tdxctl/core/root.hpp"
#include "tdxctl/core/runner.hpp"
#include "tdxctl/net/link.hpp"
#include "tdxctl/net/network_spec.hpp"
#include "tdxctl/net/state.hpp"

#include <memory>

namespace tdx::net {

struct NetEnv {
  const core::Root& root;
  core::ProcessRunner& probe;   // read-only commands (iptables-save); real even under --dry-run
  core::ProcessRunner& effects; // changing commands (iptables-restore); recording under --dry-run
};

struct NetPlan {
  core::Plan plan;
  // Links, ruleset and (macvtap) device, for the command's JSON; filled in
  // further while the plan applies (the macvtap's /dev/tapN and MAC).
  std::shared_ptr<core::Json> summary = std::make_shared<core::Json>(core::Json::object());
};

// Failure: invalid_input for a bad request, not_ready for a conflict
// (address in use, a non-bridge link of the bridge's name, no public interface).
NetPlan plan_up(const NetEnv& env, const NetRequest& request);
// The record as `up` will leave it: the previous record's "created" facts
// kept, so a re-run that creates nothing still remembers what the first made.
// Failure(not_ready, net.already_up) when the previous record is of another
// mode, bridge, tap or macvtap.
NetState initial_record(const std::optional<NetState>& old, const NetSpec& spec);

// The first address whose subnet overlaps the bridge address's (either way
// round), the bridge's own address on the bridge excepted; nullopt when the
// subnet is free.
std::optional<AddressInfo> conflicting_address(const std::vector<AddressInfo>& addresses,
                                               std::optional<int> bridge_ifindex, const Ipv4Cidr& bridge_address);

// Removes what the record says `up` created, and tdxctl's chains.
NetPlan plan_down(const NetEnv& env);

core::Json net_status(const NetEnv& env);
void print_status(std::ostream& out, const core::Json& status);

} // namespace tdx::net
