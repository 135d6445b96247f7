// Parsing and cross-checking the network request before anything is touched:
// a bad forward spec, a VM address outside the bridge subnet or an over-long
// interface name is an invalid-input error (exit 2) naming the value and what
// is expected, instead of a half-configured host. Addresses go through
// inet_pton; the host.yaml section through the shared YamlReader.
#include "tdxctl/net/network_spec.hpp"

#include "tdxctl/config/host_yaml.hpp"
#include "tdxctl/config/yaml_reader.hpp"

#include <arpa/inet.h>
#include <net/if.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <numeric>
#include <tuple>

namespace tdx::net {

using core::Category;
using core::fail;

const char* mode_name(Mode mode) {
  switch (mode) {
  case Mode::none: return "none";
  case Mode::bridge: return "bridge";
  case Mode::macvtap: return "macvtap";
  }
  return "none";
}

std::string ipv4_text(uint32_t address) {
  in_addr a{htonl(address)};
  char buf[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

static uint32_t mask_of(int prefix) { return prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix); }

std::string Ipv4Cidr::address_text() const { return ipv4_text(address); }
std::string Ipv4Cidr::text() const { return address_text() + "/" + std::to_string(prefix); }
std::string Ipv4Cidr::network_text() const {
  return ipv4_text(address & mask_of(prefix)) + "/" + std::to_string(prefix);
}
bool Ipv4Cidr::contains(uint32_t other) const {
  return (other & mask_of(prefix)) == (address & mask_of(prefix));
}

static bool parse_uint(std::string_view text, unsigned long max, unsigned long& out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && out <= max;
}

core::Result<Ipv4Cidr> parse_cidr(const std::string& text, int default_prefix) {
  auto slash = text.find('/');
  std::string addr = text.substr(0, slash);
  Ipv4Cidr out;
  in_addr a{};
  if (inet_pton(AF_INET, addr.c_str(), &a) != 1)
    return fail(Category::invalid_input, "net.bad_address",
                "'" + text + "' is not an IPv4 address", "expected a.b.c.d or a.b.c.d/prefix");
  out.address = ntohl(a.s_addr);
  if (slash == std::string::npos) {
    if (default_prefix < 0)
      return fail(Category::invalid_input, "net.bad_address",
                  "'" + text + "' has no prefix length", "expected a.b.c.d/prefix, e.g. 192.168.100.1/24");
    out.prefix = default_prefix;
    return out;
  }
  unsigned long prefix = 0;
  if (!parse_uint(std::string_view(text).substr(slash + 1), 32, prefix))
    return fail(Category::invalid_input, "net.bad_address",
                "'" + text + "': prefix length must be 0-32");
  out.prefix = static_cast<int>(prefix);
  return out;
}

std::string PortForward::text() const {
  std::string s = proto + "/" + std::to_string(first);
  if (last != first) s += "-" + std::to_string(last);
  if (first == last && guest != first) s += ":" + std::to_string(guest);
  return s;
}

core::Result<PortForward> parse_port_forward(const std::string& spec) {
  auto bad = [&](const std::string& why) {
    return fail(Category::invalid_input, "net.bad_forward", "port forward '" + spec + "': " + why,
                "expected proto/port[-port][:guestport], e.g. tcp/6443, tcp/30000-32767, "
                "tcp/2222:22, udp/51820");
  };
  PortForward f;
  auto slash = spec.find('/');
  if (slash == std::string::npos) return bad("missing protocol");
  f.proto = spec.substr(0, slash);
  if (f.proto != "tcp" && f.proto != "udp") return bad("protocol must be tcp or udp");
  std::string_view rest = std::string_view(spec).substr(slash + 1);
  std::string_view guest;
  bool has_guest = false;
  if (auto colon = rest.find(':'); colon != std::string_view::npos) {
    guest = rest.substr(colon + 1);
    has_guest = true;
    rest = rest.substr(0, colon);
  }
  std::string_view first = rest, last = rest;
  if (auto dash = rest.find('-'); dash != std::string_view::npos) {
    first = rest.substr(0, dash);
    last = rest.substr(dash + 1);
  }
  unsigned long a = 0, b = 0, g = 0;
  if (!parse_uint(first, 65535, a) || a == 0 || !parse_uint(last, 65535, b) || b == 0)
    return bad("ports must be numbers in 1-65535");
  if (b < a) return bad("range end is below its start");
  if (has_guest) {
    if (!parse_uint(guest, 65535, g) || g == 0) return bad("guest port must be a number in 1-65535");
    // DNAT cannot map a range onto a shifted range one-to-one on every kernel.
    if (a != b && g != a) return bad("a port range keeps its ports; a guest port is only allowed for a single port");
  } else {
    g = a;
  }
  f.first = static_cast<uint16_t>(a);
  f.last = static_cast<uint16_t>(b);
  f.guest = static_cast<uint16_t>(g);
  return f;
}

// A rejected name as it can be printed: control bytes and non-ASCII as \xHH,
// so an error message cannot carry terminal escapes.
static std::string shown(const std::string& name) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : name) {
    if (c >= 0x20 && c < 0x7f && c != '\\') out += static_cast<char>(c);
    else out += std::string("\\x") + hex[c >> 4] + hex[c & 15];
  }
  return out;
}

bool valid_ifname(const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ || name == "." || name == "..") return false;
  // The kernel's dev_valid_name() allows more (any byte but '/', ':' and
  // whitespace), but quotes, '#', ';' and braces mean something to nft and
  // iptables-restore; no tool that makes bridges or taps needs them.
  for (unsigned char c : name)
    if (!std::isalnum(c) && c != '_' && c != '.' && c != '-') return false;
  return true;
}

core::Result<void> check_ifname(const std::string& what, const std::string& name) {
  if (valid_ifname(name)) return {};
  return fail(Category::invalid_input, "net.bad_name",
              what + " '" + shown(name) + "' is not a valid interface name",
              "1-15 characters of A-Z a-z 0-9 _ . - (not '.' or '..')");
}

const std::string& rule_ifname(const std::string& name) {
  core::value_or_throw(check_ifname("interface", name));
  return name;
}

core::Result<void> check_overlaps(const std::vector<PortForward>& forwards) {
  // Sort by (proto, first port), then sweep keeping the range that reaches
  // furthest: O(n log n), where comparing every pair took seconds at 40k.
  std::vector<size_t> order(forwards.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const auto &x = forwards[a], &y = forwards[b];
    return std::tie(x.proto, x.first, a) < std::tie(y.proto, y.first, b);
  });
  size_t reach = 0; // index of the forward with the highest `last` so far in this proto
  for (size_t i = 0; i < order.size(); ++i) {
    const auto& f = forwards[order[i]];
    if (i > 0 && forwards[reach].proto == f.proto && f.first <= forwards[reach].last) {
      // Name the pair in the order the user wrote them.
      auto [a, b] = std::minmax(reach, order[i]);
      return fail(Category::invalid_input, "net.bad_forward",
                  "port forwards " + forwards[a].text() + " and " + forwards[b].text() + " overlap");
    }
    if (i == 0 || forwards[reach].proto != f.proto || f.last > forwards[reach].last) reach = order[i];
  }
  return {};
}

core::Result<NetSpec> validate(const NetRequest& r) {
  // Every later step branches on bridge or else macvtap: none stops here.
  if (r.mode == Mode::none)
    return fail(Category::invalid_input, "net.bad_mode", "network mode none leaves net up nothing to build",
                "expected bridge or macvtap");
  NetSpec s;
  s.mode = r.mode;
  const auto& check_name = check_ifname;
  if (!r.public_interface.empty()) TDX_TRY(check_name("public interface", r.public_interface));
  s.public_interface = r.public_interface;
  s.tap_user = r.tap_user;
  if (r.firewall != "auto" && r.firewall != "iptables" && r.firewall != "nftables")
    return fail(Category::invalid_input, "net.bad_firewall", "firewall '" + r.firewall + "'",
                "expected auto, iptables or nftables");
  s.firewall = r.firewall;
  if (r.mode == Mode::macvtap) {
    TDX_TRY(check_name("macvtap", r.macvtap));
    s.macvtap = r.macvtap;
    return s;
  }
  TDX_TRY(check_name("bridge", r.bridge));
  TDX_TRY(check_name("tap", r.tap));
  if (r.bridge == r.tap)
    return fail(Category::invalid_input, "net.bad_name", "bridge and tap are both named '" + r.bridge + "'");
  s.bridge = r.bridge;
  s.tap = r.tap;
  auto bridge = parse_cidr(r.bridge_address);
  if (!bridge) return std::unexpected(bridge.error());
  if (bridge->prefix < 8 || bridge->prefix > 30)
    return fail(Category::invalid_input, "net.bad_address",
                "bridge address " + r.bridge_address + ": prefix must be 8-30",
                "a private subnet such as 192.168.100.1/24");
  s.bridge_address = *bridge;
  auto vm = parse_cidr(r.vm_address, 32);
  if (!vm) return std::unexpected(vm.error());
  s.vm_address = vm->address;
  uint32_t mask = mask_of(bridge->prefix);
  if (!bridge->contains(vm->address) || (vm->address & ~mask) == 0 || (vm->address | mask) == ~uint32_t{0})
    return fail(Category::invalid_input, "net.bad_address",
                "VM address " + vm->address_text() + " is not a host address in the bridge subnet " +
                    bridge->network_text());
  if (vm->address == bridge->address)
    return fail(Category::invalid_input, "net.bad_address",
                "VM address " + vm->address_text() + " is the bridge's own address");
  for (const auto& text : r.forwards) {
    auto f = parse_port_forward(text);
    if (!f) return std::unexpected(f.error());
    s.forwards.push_back(*f);
  }
  TDX_TRY(check_overlaps(s.forwards));
  return s;
}

void read_network_section(config::Section& network, NetRequest& request) {
  network.allow_only(config::host_keys::network);
  if (auto v = network.str("mode")) {
    if (*v == "bridge") request.mode = Mode::bridge;
    else if (*v == "macvtap") request.mode = Mode::macvtap;
    else network.error("mode", "expected bridge or macvtap, got '" + *v + "'");
  }
  auto take = [&](const char* key, std::string& field) {
    if (auto v = network.str(key)) field = *v;
  };
  // Interface names are checked per key, so a bad one is reported at its line.
  auto take_name = [&](const char* key, std::string& field) {
    auto v = network.str(key);
    if (!v) return;
    bool defaulted = v->empty() && std::string_view(key) == "public_interface"; // the default route's
    if (auto ok = check_ifname(key, *v); !ok && !defaulted) network.error(key, ok.error().message);
    field = *v;
  };
  take_name("bridge", request.bridge);
  take("bridge_address", request.bridge_address);
  take("vm_address", request.vm_address);
  take_name("tap", request.tap);
  take("tap_user", request.tap_user);
  take_name("public_interface", request.public_interface);
  take_name("macvtap", request.macvtap);
  take("firewall", request.firewall);
  if (auto v = network.strings("forwards")) {
    for (const auto& f : *v)
      if (auto parsed = parse_port_forward(f); !parsed) network.error("forwards", parsed.error().message);
    request.forwards = *v;
  }
}

} // namespace tdx::net
