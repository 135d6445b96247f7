// nftables-native mode through libnftables (CONVENTIONS §13): the ruleset
// is rendered as nft text and committed in one transaction ("add table;
// delete table; table {...}"), which also makes re-running idempotent and
// down a single "delete table". Rules sit in tdxctl's own table, so foreign
// tables are never touched. Note the nftables semantics: an accept in our
// forward chain does not override a drop in another table's forward chain;
// that is the operator's policy to open, as with libvirt's nftables backend,
// and `net up` refuses until it is open (foreign_forward.hpp).
#include "tdxctl/net/nft_firewall.hpp"

#include "tdxctl/core/digest.hpp"
#include "tdxctl/core/hex.hpp"
#include "tdxctl/core/root.hpp"
#include "tdxctl/nftables/api.hpp"

#include <openssl/evp.h>

#include <sstream>

namespace tdx::net {

using core::Category;
using core::Failure;

const char* backend_name(FirewallBackend backend) {
  return backend == FirewallBackend::iptables ? "iptables" : "nftables";
}

// The first 16 bytes of the ruleset's SHA-256: enough to tell our table from an edited one.
std::string nft_digest(const std::string& text) { return core::sha256_hex(text).substr(0, 32); }

std::string render_nft_table(const NetSpec& spec) {
  // nft has no escape inside a quoted string, so the quotes only hold
  // because rule_ifname() admits no quote, backslash, ';', '#' or whitespace.
  const std::string pub = "\"" + rule_ifname(spec.public_interface) + "\"",
                    br = "\"" + rule_ifname(spec.bridge) + "\"";
  const std::string vm = ipv4_text(spec.vm_address);
  auto ports = [](const PortForward& f, uint16_t a, uint16_t b) {
    return f.proto + " dport " + std::to_string(a) + (a == b ? "" : "-" + std::to_string(b));
  };
  std::string body;
  body += "  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n";
  for (const auto& f : spec.forwards)
    body += "    iifname " + pub + " " + ports(f, f.first, f.last) + " counter dnat to " + vm +
            (f.first == f.last ? ":" + std::to_string(f.guest) : "") + "\n";
  body += "  }\n  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n";
  body += "    ip saddr " + spec.bridge_address.network_text() + " oifname " + pub + " counter masquerade\n";
  body += "  }\n  chain forward {\n    type filter hook forward priority filter; policy accept;\n";
  body += "    iifname " + pub + " oifname " + br + " ct state established,related counter accept\n";
  body += "    iifname " + br + " oifname " + pub + " counter accept\n";
  for (const auto& f : spec.forwards) {
    uint16_t a = f.first == f.last ? f.guest : f.first, b = f.first == f.last ? f.guest : f.last;
    body += "    ip daddr " + vm + " iifname " + pub + " oifname " + br + " " + ports(f, a, b) +
            " ct state new counter accept\n";
  }
  body += "  }\n";
  return "table ip tdxctl {\n  comment \"tdxctl net " + nft_digest(body) + "\"\n" + body + "}\n";
}

std::string render_nft_up(const std::string& table_text) {
  return "add table ip tdxctl\ndelete table ip tdxctl\n" + table_text;
}

Nft::Nft() {
  m_ctx = nftables::api().nft_ctx_new(NFT_CTX_DEFAULT);
  if (!m_ctx) throw Failure(Category::failed, "net.nft", "cannot create a libnftables context");
  nftables::api().nft_ctx_buffer_output(m_ctx);
  nftables::api().nft_ctx_buffer_error(m_ctx);
}

Nft::~Nft() {
  if (m_ctx) nftables::api().nft_ctx_free(m_ctx);
}

std::string Nft::run(const std::string& commands, const std::string& what, bool check_only) {
  nftables::api().nft_ctx_set_dry_run(m_ctx, check_only);
  int rc = nftables::api().nft_run_cmd_from_buffer(m_ctx, commands.c_str());
  nftables::api().nft_ctx_set_dry_run(m_ctx, false);
  std::string out = nftables::api().nft_ctx_get_output_buffer(m_ctx);
  std::string err = nftables::api().nft_ctx_get_error_buffer(m_ctx);
  if (rc != 0)
    throw Failure(err.find("Operation not permitted") != std::string::npos ? Category::not_ready : Category::failed,
                  "net.nft", what + ": " + core::trim(err));
  return out;
}

bool Nft::has_table() {
  auto out = run("list tables ip", "listing nftables tables");
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line))
    if (core::trim(line) == "table ip tdxctl") return true;
  return false;
}

std::optional<std::string> Nft::table_digest() {
  if (!has_table()) return std::nullopt;
  auto out = run("list table ip tdxctl", "listing table ip tdxctl");
  const std::string mark = "comment \"tdxctl net ";
  auto pos = out.find(mark);
  if (pos == std::string::npos) return std::string();
  auto end = out.find('"', pos + mark.size());
  return out.substr(pos + mark.size(), end - pos - mark.size());
}

std::vector<RuleCounter> Nft::counters() {
  std::vector<RuleCounter> out;
  if (!has_table()) return out;
  std::istringstream in(run("list table ip tdxctl", "listing table ip tdxctl"));
  std::string line, chain;
  while (std::getline(in, line)) {
    auto t = core::trim(line);
    if (t.rfind("chain ", 0) == 0) chain = t.substr(6, t.find(' ', 6) - 6);
    auto c = t.find("counter packets ");
    if (c == std::string::npos) continue;
    RuleCounter rc;
    rc.chain = chain;
    rc.rule = t;
    std::istringstream nums(t.substr(c + 16));
    std::string word;
    nums >> rc.packets >> word >> rc.bytes;
    out.push_back(rc);
  }
  return out;
}

core::Json Nft::ruleset_json() {
  unsigned flags = nftables::api().nft_ctx_output_get_flags(m_ctx);
  nftables::api().nft_ctx_output_set_flags(m_ctx, flags | NFT_CTX_OUTPUT_JSON);
  std::string text;
  try {
    text = run("list ruleset", "listing the nftables ruleset");
  } catch (...) {
    nftables::api().nft_ctx_output_set_flags(m_ctx, flags);
    throw;
  }
  nftables::api().nft_ctx_output_set_flags(m_ctx, flags);
  try {
    return core::Json::parse(text.empty() ? "{}" : text);
  } catch (const std::exception& e) {
    throw Failure(Category::failed, "net.nft", std::string("libnftables returned JSON that does not parse: ") + e.what());
  }
}

bool Nft::native_ruleset() {
  std::istringstream in(run("list tables", "listing nftables tables"));
  std::string line;
  while (std::getline(in, line))
    if (core::trim(line).rfind("table inet ", 0) == 0) return true;
  return false;
}

} // namespace tdx::net
