#pragma once
// `net up`, `net down` and `net status` as plans over the link, firewall,
// sysctl and state pieces. Planning probes the live namespace (netlink,
// iptables-save, /proc/sys) and fails before any change on a conflict;
// applying goes step by step with rollback (core::Plan).

#include "tdxctl/core/plan.hpp"
#include "tdxctl/core/root.hpp"
#include "tdxctl/core/runner.hpp"
#include "tdxctl/net/network_spec.hpp"

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
// Removes what the record says `up` created, and tdxctl's chains.
NetPlan plan_down(const NetEnv& env);

core::Json net_status(const NetEnv& env);
void print_status(std::ostream& out, const core::Json& status);

} // namespace tdx::net
