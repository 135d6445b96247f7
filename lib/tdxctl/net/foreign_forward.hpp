#pragma once
// Other tables' forward chains that would drop what tdxctl forwards. In
// nftables every base chain on a hook sees the packet, and an accept in one
// table does not stop a drop in another: with firewalld's (or any) `inet`
// table dropping on the forward hook, tdxctl's accepts count packets and
// the port forwards still time out. `net up` looks for such chains in the
// live ruleset (libnftables, JSON) and refuses, naming each one, rather
// than report success for forwards that cannot work.

#include "tdxctl/core/output.hpp"

#include <string>
#include <vector>

namespace tdx::net {

struct ForwardBlocker {
  std::string family, table, chain;
  std::string drops;   // "policy drop" | "a final unconditional drop" | "... reject"
  std::string missing; // the direction nothing lets through, e.g. "into br-tdx"
  std::string text() const; // "table inet fw chain forward (policy drop; nothing accepts traffic into br-tdx)"
};

// A chain of ours, never reported: family, table, and chain ("" for all).
struct OwnForwardChain {
  std::string family, table, chain;
};

// Base chains on the forward hook, in families ip and inet, that are not
// ours and that drop by policy or by a final rule with no match, unless they
// hold, for both directions, a rule matching iifname / oifname `bridge`
// with accept, jump or goto (the operator has decided about the bridge).
// `ruleset` is `nft -j list ruleset`'s document.
std::vector<ForwardBlocker> forward_blockers(const core::Json& ruleset, const std::string& bridge,
                                             const std::vector<OwnForwardChain>& own);

} // namespace tdx::net
