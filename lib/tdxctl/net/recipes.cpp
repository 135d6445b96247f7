// The two recipes: a bridge with NAT and port forwards, or a macvtap on the
// public interface. Steps are ordered so each is reversible on its own
// (the record, then links, then addresses, then forwarding, then rules), and
// every step that found its result already in place is "unchanged", so a
// re-run adds nothing. What a step created is noted in the record as it
// happens, before the change itself; `down` trusts only that record, never a
// name pattern, and only for links still of the kind it says.
#include "tdxctl/net/recipes.hpp"

#include "tdxctl/net/firewall.hpp"
#include "tdxctl/net/foreign_forward.hpp"
#include "tdxctl/net/link.hpp"
#include "tdxctl/net/nft_firewall.hpp"
#include "tdxctl/net/state.hpp"

#include <pwd.h>

#include <ostream>

namespace tdx::net {

using core::Category;
using core::Failure;
using core::Json;

static constexpr const char* kIpForward = "/proc/sys/net/ipv4/ip_forward";

namespace {

[[noreturn]] void conflict(const std::string& code, const std::string& message, const std::string& hint) {
  throw Failure(Category::not_ready, "net." + code, message, hint);
}

std::string read_ip_forward(const core::Root& root) {
  auto v = root.read_pseudo(kIpForward);
  if (!v) {
    auto error = v.error();
    error.category = Category::not_ready;
    if (error.code != "root.escape") error.code = "net.sysctl";
    throw Failure(std::move(error));
  }
  // The value is recorded and written back by `down`: only what the sysctl means.
  if (*v != "0" && *v != "1")
    throw Failure(Category::not_ready, "net.sysctl",
                  root.path(kIpForward).string() + " reads '" + v->substr(0, 16) + "', not 0 or 1");
  return *v;
}

void write_ip_forward(const core::Root& root, const std::string& value) {
  // Only the two values the sysctl means; a record (or anything else) that
  // says otherwise never reaches the kernel.
  if (value != "0" && value != "1")
    throw Failure(Category::invalid_input, "net.sysctl",
                  "refusing to write '" + value + "' to " + root.path(kIpForward).string(), "expected 0 or 1");
  auto written = root.write(kIpForward, value + "\n");
  if (!written) {
    auto error = written.error();
    if (error.code != "root.escape") error.code = "net.sysctl";
    throw Failure(std::move(error));
  }
}

struct TapOwner {
  uid_t uid = 0;
  std::string name;
};

TapOwner resolve_tap_owner(const std::string& requested) {
  // libvirt on Debian runs QEMU as libvirt-qemu; without libvirt, root.
  std::string name = requested.empty() ? "libvirt-qemu" : requested;
  if (const passwd* pw = ::getpwnam(name.c_str())) return {pw->pw_uid, name};
  if (requested.empty()) return {0, "root"};
  char* end = nullptr;
  unsigned long uid = std::strtoul(requested.c_str(), &end, 10);
  if (!requested.empty() && end && *end == '\0') return {static_cast<uid_t>(uid), requested};
  conflict("no_user", "tap owner '" + requested + "' is not a user on this host",
           "pass --tap-user with the user QEMU runs as (libvirt-qemu on Debian)");
}

Json link_json(Netlink& nl, const LinkInfo& l, const std::vector<AddressInfo>& addrs) {
  Json j{{"name", l.name}, {"kind", l.kind}, {"up", l.up}, {"mac", l.mac}, {"mtu", l.mtu}};
  if (l.master)
    if (auto m = nl.link(l.master)) j["master"] = m->name;
  Json a = Json::array();
  for (const auto& addr : addrs)
    if (addr.ifindex == l.ifindex) a.push_back(addr.cidr.text());
  j["addresses"] = a;
  if (l.kind == "macvtap") j["device"] = "/dev/tap" + std::to_string(l.ifindex);
  return j;
}

bool same_facts(const NetState& a, const NetState& b) {
  return a.created_bridge == b.created_bridge && a.added_address == b.added_address &&
         a.created_tap == b.created_tap && a.created_macvtap == b.created_macvtap &&
         a.ip_forward_previous == b.ip_forward_previous;
}

// The record is written before the first change (and each fact before the
// step that makes it true), so that whatever stops `up` half-way (a failed
// step, a signal, a crash) leaves `down` a record of everything to remove.
// Undone last: it goes back to the earlier record only when every later
// step's undo took its fact back; otherwise it stays for `down`.
void add_record_step(NetPlan& out, const NetEnv& env, std::shared_ptr<NetState> rec,
                     std::optional<NetState> old) {
  out.plan.add({"state.record", "file", std::string("record what is set up in ") + kStatePath + " (before changing anything)",
                Json{{"path", env.root.path(kStatePath).string()}},
                [env, rec] {
                  auto now = load_state(env.root);
                  return now && now->to_json() == rec->to_json();
                },
                [env, rec] { save_state(env.root, *rec); },
                [env, rec, old] {
                  if (!same_facts(*rec, old.value_or(NetState{}))) return;
                  if (old) save_state(env.root, *old);
                  else remove_state(env.root);
                }});
}

// Notes `fact` in the record, then runs `act`; if `act` fails the note is
// taken back. The matching undo clears it after undoing.
std::function<void()> noted(const NetEnv& env, std::shared_ptr<NetState> rec, bool NetState::*fact,
                            std::function<void()> act) {
  return [env, rec, fact, act] {
    rec.get()->*fact = true;
    save_state(env.root, *rec);
    try {
      act();
    } catch (...) {
      rec.get()->*fact = false;
      save_state(env.root, *rec);
      throw;
    }
  };
}
std::function<void()> unnoted(const NetEnv& env, std::shared_ptr<NetState> rec, bool NetState::*fact,
                              std::function<void()> act) {
  return [env, rec, fact, act] {
    act();
    rec.get()->*fact = false;
    save_state(env.root, *rec);
  };
}

void check_public(Netlink& nl, NetSpec& spec) {
  if (spec.public_interface.empty()) {
    auto def = nl.default_route_interface();
    if (!def)
      conflict("no_public_interface", "no IPv4 default route, so no public interface to use",
               "pass --public-interface IFACE (or network.public_interface in host.yaml)");
    core::value_or_throw(check_ifname("public interface (of the default route)", *def));
    spec.public_interface = *def;
  }
  if (!nl.link(spec.public_interface))
    conflict("no_public_interface", "public interface " + spec.public_interface + " does not exist",
             "pass --public-interface with an existing interface (see 'ip link')");
}

// Forwarded traffic passes every table's forward chain; one that drops it
// makes the forwards fail however many accepts tdxctl adds to its own. Our
// chains are skipped: the tdxctl table, and under iptables the built-in
// FORWARD chain, whose first rule is the jump to TDXCTL-FORWARD.
void refuse_foreign_drops(Nft& nft, const NetSpec& spec, bool use_nft) {
  std::vector<OwnForwardChain> own = {{"ip", "tdxctl", ""}};
  if (!use_nft) own.push_back({"ip", "filter", "FORWARD"});
  auto blockers = forward_blockers(nft.ruleset_json(), spec.bridge, own);
  if (blockers.empty()) return;
  const auto& b = blockers.front();
  std::string also;
  for (size_t i = 1; i < blockers.size(); ++i) also += "; also " + blockers[i].text();
  const std::string at = b.family + " " + b.table + " " + b.chain, br = "\"" + spec.bridge + "\"";
  conflict("forward_dropped",
           b.text() + " drops forwarded traffic, which tdxctl's accepts cannot override: the bridge's NAT and port "
                      "forwards would not work" + also,
           "open that chain for the bridge, then re-run: nft insert rule " + at + " iifname " + br + " oifname \"" +
               spec.public_interface + "\" accept; nft insert rule " + at + " oifname " + br +
               " ct state established,related accept; nft insert rule " + at + " oifname " + br +
               " ct status dnat accept (with firewalld: put " + spec.bridge + " in a zone that forwards)");
}

void check_bridge_conflicts(Netlink& nl, const NetSpec& spec) {
  if (spec.public_interface == spec.bridge || spec.public_interface == spec.tap)
    throw Failure(Category::invalid_input, "net.bad_name",
                  "public interface " + spec.public_interface + " cannot also be the bridge or the tap");
  auto bridge = nl.link(spec.bridge);
  if (bridge && bridge->kind != "bridge")
    conflict("link_conflict", "link " + spec.bridge + " exists and is a " + (bridge->kind.empty() ? "device" : bridge->kind) + ", not a bridge",
             "choose another name with --bridge, or remove that link");
  auto tap = nl.link(spec.tap);
  if (tap && tap->kind != "tun")
    conflict("link_conflict", "link " + spec.tap + " exists and is a " + (tap->kind.empty() ? "device" : tap->kind) + ", not a tap",
             "choose another name with --tap");
  if (tap && tap->master && (!bridge || tap->master != bridge->ifindex))
    conflict("link_conflict", "tap " + spec.tap + " is attached to another bridge", "choose another tap name with --tap");
  auto bridge_ifindex = bridge ? std::optional<int>(bridge->ifindex) : std::nullopt;
  if (auto a = conflicting_address(nl.ipv4_addresses(), bridge_ifindex, spec.bridge_address))
    conflict("address_conflict", "bridge address " + spec.bridge_address.text() + " conflicts with " +
                                      a->cidr.text() + " on " + a->link,
             "choose a free subnet with --bridge-address (and --vm-address)");
}

void plan_macvtap(NetPlan& out, const NetEnv& env, const std::shared_ptr<Netlink>& nl, const NetSpec& spec,
                  const std::shared_ptr<NetState>& rec, const std::optional<NetState>& old) {
  if (auto l = nl->link(spec.macvtap); l && l->kind != "macvtap")
    conflict("link_conflict", "link " + spec.macvtap + " exists and is a " + (l->kind.empty() ? "device" : l->kind) + ", not a macvtap",
             "choose another name with --macvtap");
  const std::string name = spec.macvtap, parent = spec.public_interface;
  auto summary = out.summary;
  auto fill = [nl, summary, name] {
    if (auto l = nl->link(name)) {
      (*summary)["device"] = "/dev/tap" + std::to_string(l->ifindex);
      (*summary)["mac"] = l->mac;
    }
  };
  (*summary)["links"] = Json::array({Json{{"name", name}, {"kind", "macvtap"}, {"mode", "bridge"}, {"parent", parent}}});
  fill();
  add_record_step(out, env, rec, old);
  out.plan.add({"link.macvtap", "link", "create macvtap " + name + " (bridge mode) on " + parent,
                Json{{"name", name}, {"type", "macvtap"}, {"mode", "bridge"}, {"link", parent}},
                [nl, name] { return nl->link(name).has_value(); },
                noted(env, rec, &NetState::created_macvtap, [nl, name, parent, fill] {
                  nl->create_macvtap(name, parent);
                  fill();
                }),
                unnoted(env, rec, &NetState::created_macvtap, [nl, name] { nl->delete_link(name); })});
  out.plan.add({"link.macvtap.up", "link", "set " + name + " up", Json{{"name", name}, {"up", true}},
                [nl, name] { auto l = nl->link(name); return l && l->up; },
                [nl, name] { nl->set_up(name, true); }, {}});
}

void summarise_bridge(Json& summary, const NetSpec& spec, const std::string& tap_owner, const std::string& ruleset) {
  summary["links"] = Json::array({
      Json{{"name", spec.bridge}, {"kind", "bridge"}, {"address", spec.bridge_address.text()}},
      Json{{"name", spec.tap}, {"kind", "tap"}, {"owner", tap_owner}, {"master", spec.bridge}},
  });
  summary["vm_address"] = ipv4_text(spec.vm_address);
  Json fwd = Json::array();
  for (const auto& f : spec.forwards) fwd.push_back(f.text());
  summary["forwards"] = fwd;
  summary["ruleset"] = ruleset;
}

// The bridge with its address, then the tap (owned by QEMU's user) on it.
void add_bridge_links(NetPlan& out, const NetEnv& env, const std::shared_ptr<Netlink>& nl, const NetSpec& spec,
                      const std::shared_ptr<NetState>& rec, const TapOwner& owner) {
  const std::string br = spec.bridge, tp = spec.tap;
  const auto cidr = spec.bridge_address;
  out.plan.add({"link.bridge", "link", "create bridge " + br, Json{{"name", br}, {"type", "bridge"}},
                [nl, br] { return nl->link(br).has_value(); },
                noted(env, rec, &NetState::created_bridge, [nl, br] { nl->create_bridge(br); }),
                unnoted(env, rec, &NetState::created_bridge, [nl, br] { nl->delete_link(br); })});
  out.plan.add({"address.bridge", "address", "add " + cidr.text() + " to " + br,
                Json{{"link", br}, {"address", cidr.text()}},
                [nl, br, cidr] {
                  for (const auto& a : nl->ipv4_addresses())
                    if (a.link == br && a.cidr.address == cidr.address && a.cidr.prefix == cidr.prefix) return true;
                  return false;
                },
                noted(env, rec, &NetState::added_address, [nl, br, cidr] { nl->add_address(br, cidr); }),
                unnoted(env, rec, &NetState::added_address, [nl, br, cidr] { nl->delete_address(br, cidr); })});
  out.plan.add({"link.bridge.up", "link", "set " + br + " up", Json{{"name", br}, {"up", true}},
                [nl, br] { auto l = nl->link(br); return l && l->up; },
                [nl, br] { nl->set_up(br, true); }, {}});
  out.plan.add({"link.tap", "link", "create tap " + tp + " owned by " + owner.name,
                Json{{"name", tp}, {"type", "tap"}, {"owner", owner.name}, {"uid", owner.uid}},
                [nl, tp] { return nl->link(tp).has_value(); },
                noted(env, rec, &NetState::created_tap, [nl, tp, uid = owner.uid] { nl->create_tap(tp, uid); }),
                unnoted(env, rec, &NetState::created_tap, [nl, tp] { nl->delete_link(tp); })});
  out.plan.add({"link.tap.attach", "link", "attach " + tp + " to " + br + " and set it up",
                Json{{"name", tp}, {"master", br}, {"up", true}},
                [nl, tp, br] {
                  auto t = nl->link(tp);
                  auto b = nl->link(br);
                  return t && b && t->master == b->ifindex && t->up;
                },
                [nl, tp, br] { nl->set_master(tp, br); nl->set_up(tp, true); }, {}});
}

// The previous value is recorded before the write, and put back by the undo
// (and by `down`).
void add_ip_forward_step(NetPlan& out, const NetEnv& env, const std::shared_ptr<NetState>& rec) {
  out.plan.add({"sysctl.ip_forward", "sysctl", "enable net.ipv4.ip_forward (the previous value is restored by down)",
                Json{{"path", env.root.path(kIpForward).string()}, {"value", "1"}},
                [env] { return read_ip_forward(env.root) == "1"; },
                [env, rec] {
                  rec->ip_forward_previous = read_ip_forward(env.root);
                  save_state(env.root, *rec);
                  try {
                    write_ip_forward(env.root, "1");
                  } catch (...) {
                    rec->ip_forward_previous.reset();
                    save_state(env.root, *rec);
                    throw;
                  }
                },
                [env, rec] {
                  if (!rec->ip_forward_previous) return;
                  write_ip_forward(env.root, *rec->ip_forward_previous);
                  rec->ip_forward_previous.reset();
                  save_state(env.root, *rec);
                }});
}

std::string firewall_summary(const NetSpec& spec) {
  return "MASQUERADE " + spec.bridge_address.network_text() + " out of " + spec.public_interface + ", " +
         std::to_string(spec.forwards.size()) + " port forward(s) to " + ipv4_text(spec.vm_address);
}

void add_nft_step(NetPlan& out, const std::shared_ptr<Nft>& nft, const NetSpec& spec) {
  const std::string table = render_nft_table(spec);
  nft->run(render_nft_up(table), "checking the tdxctl nftables table", true);
  (*out.summary)["ruleset"] = table;
  bool existed = nft->has_table();
  out.plan.add({"firewall.nftables", "ruleset", "load table ip tdxctl: " + firewall_summary(spec),
                Json{{"library", "libnftables"}, {"text", render_nft_up(table)}},
                [nft, table] {
                  auto live = nft->table_digest();
                  return live && table.find("tdxctl net " + *live + "\"") != std::string::npos;
                },
                [nft, table] { nft->run(render_nft_up(table), "loading table ip tdxctl"); },
                [nft, existed] { if (!existed) nft->run("delete table ip tdxctl", "removing table ip tdxctl"); }});
}

void add_iptables_step(NetPlan& out, const NetEnv& env, const NetSpec& spec, const FirewallPlan& fw,
                       const std::string& ruleset) {
  auto before = std::make_shared<LiveFirewall>();
  out.plan.add({"firewall.ruleset", "ruleset", "load TDXCTL-PREROUTING/POSTROUTING/FORWARD: " + firewall_summary(spec),
                Json{{"argv", {"iptables-restore", "-w", "--noflush"}}, {"text", ruleset}},
                [env, fw] { return firewall_matches(fw, read_firewall(env.probe)); },
                [env, fw, before] {
                  *before = read_firewall(env.probe);
                  apply_ruleset(env.effects, render_up(fw, *before));
                },
                [env, before] {
                  // Put back what was there: nothing, or an earlier tdxctl ruleset.
                  auto now = read_firewall(env.probe);
                  if (before->rules.empty()) {
                    apply_ruleset(env.effects, render_down(now));
                  } else {
                    FirewallPlan old{before->rules};
                    apply_ruleset(env.effects, render_up(old, now));
                  }
                }});
}

void plan_bridge(NetPlan& out, const NetEnv& env, const std::shared_ptr<Netlink>& nl, const NetSpec& spec,
                 const std::shared_ptr<NetState>& rec, const std::optional<NetState>& old) {
  // Every conflict is found here, before the first change.
  check_bridge_conflicts(*nl, spec);
  auto owner = resolve_tap_owner(spec.tap_user);
  read_ip_forward(env.root); // readable, 0 or 1, inside the root: checked before any change
  auto fw = build_firewall(spec);
  const std::string ruleset = render_up(fw, read_firewall(env.probe));
  summarise_bridge(*out.summary, spec, owner.name, ruleset);

  add_record_step(out, env, rec, old);
  add_bridge_links(out, env, nl, spec, rec, owner);
  add_ip_forward_step(out, env, rec);
  auto nft = std::make_shared<Nft>();
  bool use_nft = spec.firewall == "nftables" || (spec.firewall == "auto" && nft->native_ruleset());
  (*out.summary)["firewall"] = use_nft ? "nftables" : "iptables";
  refuse_foreign_drops(*nft, spec, use_nft);
  if (use_nft) add_nft_step(out, nft, spec);
  else add_iptables_step(out, env, spec, fw, ruleset);
}

// Only a link of the kind `up` created is deleted: the record names links
// by name, and a name can since belong to something else (or the record
// can be wrong). Checked here, before any change, and again just before.
void add_remove_link(NetPlan& out, const std::shared_ptr<Netlink>& nl, const std::string& id, const std::string& name,
                     const std::string& what, const std::string& kind) {
  auto refuse_other = [nl, name, what, kind] {
    auto l = nl->link(name);
    if (l && l->kind != kind)
      conflict("link_conflict",
               "link " + name + " is a " + (l->kind.empty() ? "device" : l->kind) + ", not the " + what +
                   " net up created: refusing to delete it",
               "check " + std::string(kStatePath) + " and 'ip -d link show " + name + "'");
  };
  refuse_other();
  out.plan.add({id, "link", "delete " + what + " " + name, Json{{"name", name}, {"kind", kind}, {"delete", true}},
                [nl, name] { return !nl->link(name).has_value(); },
                [nl, name, refuse_other] {
                  refuse_other();
                  nl->delete_link(name);
                },
                {}});
}

} // namespace

NetState initial_record(const std::optional<NetState>& old, const NetSpec& spec) {
  NetState rec;
  if (old) {
    bool same = old->mode == spec.mode &&
                (spec.mode == Mode::bridge ? old->bridge == spec.bridge && old->tap == spec.tap
                                           : old->macvtap == spec.macvtap);
    if (!same)
      conflict("already_up", "tdxctl net is already up in " + std::string(mode_name(old->mode)) +
                                 " mode with " + (old->mode == Mode::bridge ? "bridge " + old->bridge : "macvtap " + old->macvtap),
               "run 'tdxctl net down' first");
    rec = *old;
  }
  rec.mode = spec.mode;
  rec.public_interface = spec.public_interface;
  if (spec.mode == Mode::bridge) {
    rec.bridge = spec.bridge;
    rec.bridge_address = spec.bridge_address.text();
    rec.tap = spec.tap;
    rec.vm_address = ipv4_text(spec.vm_address);
    rec.forwards.clear();
    for (const auto& f : spec.forwards) rec.forwards.push_back(f.text());
  } else {
    rec.macvtap = spec.macvtap;
  }
  return rec;
}

std::optional<AddressInfo> conflicting_address(const std::vector<AddressInfo>& addresses,
                                               std::optional<int> bridge_ifindex, const Ipv4Cidr& bridge_address) {
  for (const auto& a : addresses) {
    bool on_bridge = bridge_ifindex && a.ifindex == *bridge_ifindex;
    if (on_bridge && a.cidr.address == bridge_address.address && a.cidr.prefix == bridge_address.prefix) continue;
    if (a.cidr.contains(bridge_address.address) || bridge_address.contains(a.cidr.address)) return a;
  }
  return std::nullopt;
}

NetPlan plan_up(const NetEnv& env, const NetRequest& request) {
  auto spec = core::value_or_throw(validate(request));
  auto nl = std::make_shared<Netlink>();
  check_public(*nl, spec);
  NetPlan out;
  auto old = load_state(env.root);
  auto rec = std::make_shared<NetState>(initial_record(old, spec));
  (*out.summary)["mode"] = mode_name(spec.mode);
  (*out.summary)["public_interface"] = spec.public_interface;
  if (spec.mode == Mode::macvtap) plan_macvtap(out, env, nl, spec, rec, old);
  else plan_bridge(out, env, nl, spec, rec, old);
  return out;
}

NetPlan plan_down(const NetEnv& env) {
  NetPlan out;
  auto nl = std::make_shared<Netlink>();
  auto state = load_state(env.root);
  auto live = read_firewall(env.probe);
  const std::string ruleset = render_down(live);
  (*out.summary)["record"] = state ? state->to_json() : Json();
  (*out.summary)["ruleset"] = ruleset;
  out.plan.add({"firewall.remove", "ruleset", "remove the tdxctl chains and their jumps",
                Json{{"argv", {"iptables-restore", "-w", "--noflush"}}, {"text", ruleset}},
                [env] { return !read_firewall(env.probe).has_any(); },
                [env] { apply_ruleset(env.effects, render_down(read_firewall(env.probe))); }, {}});
  auto nft = std::make_shared<Nft>();
  if (nft->has_table())
    out.plan.add({"firewall.nftables.remove", "ruleset", "delete table ip tdxctl",
                  Json{{"library", "libnftables"}, {"text", "delete table ip tdxctl\n"}},
                  [nft] { return !nft->has_table(); },
                  [nft] { nft->run("delete table ip tdxctl", "removing table ip tdxctl"); }, {}});
  if (!state) return out;
  if (state->ip_forward_previous && *state->ip_forward_previous != "1") {
    std::string prev = *state->ip_forward_previous;
    out.plan.add({"sysctl.ip_forward", "sysctl", "restore net.ipv4.ip_forward to " + prev,
                  Json{{"path", env.root.path(kIpForward).string()}, {"value", prev}},
                  [env, prev] { return read_ip_forward(env.root) == prev; },
                  [env, prev] { write_ip_forward(env.root, prev); }, {}});
  }
  if (state->created_tap) add_remove_link(out, nl, "link.tap", state->tap, "tap", "tun");
  if (state->added_address && !state->created_bridge) {
    auto cidr = core::value_or_throw(parse_cidr(state->bridge_address));
    std::string br = state->bridge;
    out.plan.add({"address.bridge", "address", "remove " + cidr.text() + " from " + br,
                  Json{{"link", br}, {"address", cidr.text()}, {"delete", true}},
                  [nl, br, cidr] {
                    for (const auto& a : nl->ipv4_addresses())
                      if (a.link == br && a.cidr.address == cidr.address) return false;
                    return true;
                  },
                  [nl, br, cidr] { nl->delete_address(br, cidr); }, {}});
  }
  if (state->created_bridge) add_remove_link(out, nl, "link.bridge", state->bridge, "bridge", "bridge");
  if (state->created_macvtap) add_remove_link(out, nl, "link.macvtap", state->macvtap, "macvtap", "macvtap");
  out.plan.add({"state.remove", "file", std::string("remove the record ") + kStatePath,
                Json{{"path", env.root.path(kStatePath).string()}, {"delete", true}},
                [env] { return !load_state(env.root).has_value(); },
                [env] { remove_state(env.root); }, {}});
  return out;
}

Json net_status(const NetEnv& env) {
  Netlink nl;
  auto state = load_state(env.root);
  Json doc;
  doc["configured"] = state.has_value();
  doc["record"] = state ? state->to_json() : Json();
  std::vector<std::string> names;
  if (state && state->mode == Mode::macvtap) names = {state->macvtap};
  else if (state) names = {state->bridge, state->tap};
  else names = {NetRequest{}.bridge, NetRequest{}.tap};
  auto addrs = nl.ipv4_addresses();
  Json links = Json::array();
  for (const auto& n : names)
    if (auto l = nl.link(n)) links.push_back(link_json(nl, *l, addrs));
    else links.push_back(Json{{"name", n}, {"present", false}});
  doc["links"] = links;
  auto fwd = env.root.read_line(kIpForward);
  doc["ip_forward"] = fwd ? Json(*fwd == "1") : Json();
  auto live = read_firewall(env.probe);
  Json rules = Json::array();
  for (const auto& c : live.counters)
    rules.push_back(Json{{"chain", c.chain}, {"rule", c.rule}, {"packets", c.packets}, {"bytes", c.bytes}});
  Nft nft;
  for (const auto& c : nft.counters())
    rules.push_back(Json{{"chain", "tdxctl/" + c.chain}, {"rule", c.rule}, {"packets", c.packets}, {"bytes", c.bytes}});
  doc["firewall"] = Json{{"iptables", live.has_any()}, {"nftables", nft.has_table()}, {"rules", rules}};
  return doc;
}

void print_status(std::ostream& os, const Json& s) {
  if (s["configured"].get<bool>())
    os << "tdxctl net is up (" << s["record"]["mode"].get<std::string>() << " mode, public interface "
       << s["record"]["public_interface"].get<std::string>() << ")\n";
  else
    os << "tdxctl net is not up (no record in " << kStatePath << ")\n";
  os << "links:\n";
  for (const auto& l : s["links"]) {
    if (l.contains("present")) {
      os << "  " << l["name"].get<std::string>() << ": absent\n";
      continue;
    }
    os << "  " << l["name"].get<std::string>() << ": " << l["kind"].get<std::string>()
       << (l["up"].get<bool>() ? " up" : " down") << " mac " << l["mac"].get<std::string>();
    if (l.contains("master")) os << " master " << l["master"].get<std::string>();
    if (l.contains("device")) os << " device " << l["device"].get<std::string>();
    for (const auto& a : l["addresses"]) os << " " << a.get<std::string>();
    os << '\n';
  }
  os << "ip_forward: " << (s["ip_forward"].is_null() ? "unknown" : s["ip_forward"].get<bool>() ? "on" : "off") << '\n';
  os << "rules (packets bytes rule):\n";
  if (s["firewall"]["rules"].empty()) os << "  none\n";
  for (const auto& r : s["firewall"]["rules"])
    os << "  " << r["packets"].get<uint64_t>() << ' ' << r["bytes"].get<uint64_t>() << ' '
       << r["rule"].get<std::string>() << '\n';
}

} // namespace tdx::net
