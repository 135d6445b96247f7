#pragma once
// The same firewall as firewall.hpp, for hosts that use nftables natively:
// one `table ip tdxctl` with prerouting/postrouting/forward base chains,
// loaded through libnftables in a single transaction that replaces the whole
// table. The table's comment carries a digest of the rendered text, so a
// re-run can tell "already exactly this" without re-parsing nft's listing.

#include "tdxctl/core/output.hpp"
#include "tdxctl/net/firewall.hpp"
#include "tdxctl/net/network_spec.hpp"

#include <optional>
#include <string>
#include <vector>

struct nft_ctx;

namespace tdx::net {

enum class FirewallBackend { iptables, nftables };
const char* backend_name(FirewallBackend backend);

// The `table ip tdxctl { ... }` text (comment with the digest included).
std::string render_nft_table(const NetSpec& spec);
// The transaction that loads it, replacing any earlier tdxctl table.
std::string render_nft_up(const std::string& table_text);

class Nft {
public:
  Nft(); // Failure when libnftables cannot make a context
  ~Nft();
  Nft(const Nft&) = delete;
  Nft& operator=(const Nft&) = delete;
  // Runs nft commands; with check_only, nothing is committed (nft --check).
  // Failure names what failed and nft's own error text.
  std::string run(const std::string& commands, const std::string& what, bool check_only = false);
  bool has_table();
  // The digest in the live table's comment, if the table exists.
  std::optional<std::string> table_digest();
  // Each counted rule of the table: chain, rule text, packets, bytes.
  std::vector<RuleCounter> counters();
  // True when the host runs nftables natively (an inet table exists:
  // nftables.service and firewalld make one; iptables-nft never does).
  bool native_ruleset();
  // The whole live ruleset as libnftables' JSON document (list ruleset -j).
  core::Json ruleset_json();

private:
  ::nft_ctx* m_ctx = nullptr;
};

std::string nft_digest(const std::string& table_text);

} // namespace tdx::net
