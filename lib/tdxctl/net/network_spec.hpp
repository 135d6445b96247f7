#pragma once
// What `tdxctl net up` is asked to build: the mode, link names, the bridge
// subnet, the VM address and the forwarded ports. Filled from flags or from
// the `network:` section of host.yaml (the same struct `tdxctl up` uses), and
// validated here once, so every later step can trust it.

#include "tdxctl/core/error.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace tdx::config {
class Section;
}

namespace tdx::net {

// How a TD is networked: a private bridge with NAT (and the tap on it), a
// macvtap on a public interface, or (a TD's spec only) no NIC at all. `net
// up` builds bridge or macvtap; td renders all three.
enum class Mode { none, bridge, macvtap };
const char* mode_name(Mode mode);

// An IPv4 address with a prefix length ("192.168.100.1/24").
struct Ipv4Cidr {
  uint32_t address = 0; // host byte order
  int prefix = 32;
  std::string address_text() const;             // "192.168.100.1"
  std::string text() const;                     // "192.168.100.1/24"
  std::string network_text() const;             // "192.168.100.0/24"
  bool contains(uint32_t other) const;
};
core::Result<Ipv4Cidr> parse_cidr(const std::string& text, int default_prefix = -1);
std::string ipv4_text(uint32_t address);

// One forwarded port or range: proto/port[-port][:guestport].
struct PortForward {
  std::string proto = "tcp"; // tcp | udp
  uint16_t first = 0;
  uint16_t last = 0;
  uint16_t guest = 0; // the guest port for a single port; equals first for a range
  std::string text() const;
  bool operator==(const PortForward&) const = default;
};
// Errors name the spec and what is expected ("tcp/70000: port out of range 1-65535").
core::Result<PortForward> parse_port_forward(const std::string& spec);

struct NetRequest {
  Mode mode = Mode::bridge;
  std::string bridge = "br-tdx";
  std::string bridge_address = "192.168.100.1/24";
  std::string vm_address = "192.168.100.2";
  std::string tap = "vmtap0";      // the name the existing launchers and guests expect
  std::string tap_user;            // owner of the tap; default: libvirt-qemu, else root
  std::string public_interface;    // default: the interface of the default route
  std::vector<std::string> forwards = {"tcp/6443", "tcp/30000-32767"};
  std::string macvtap = "tdx-macvtap0";
  std::string firewall = "auto"; // auto | iptables | nftables (auto: nftables when an inet table exists)
};

// The request with every value parsed and cross-checked (VM inside the bridge
// subnet, distinct from the bridge address, forwards not overlapping).
struct NetSpec {
  Mode mode = Mode::bridge;
  std::string bridge;
  Ipv4Cidr bridge_address;
  uint32_t vm_address = 0;
  std::string tap;
  std::string tap_user;
  std::string public_interface; // may still be empty: resolved from the routing table
  std::vector<PortForward> forwards;
  std::string macvtap;
  std::string firewall;
};
core::Result<NetSpec> validate(const NetRequest& request);
// The first pair of forwards (same protocol) whose port ranges overlap, as an
// invalid_input error naming both; sorts and sweeps, so 40k forwards are fine.
core::Result<void> check_overlaps(const std::vector<PortForward>& forwards);

// Interface names as the kernel accepts them and as they can be rendered
// into a ruleset without quoting: 1-15 bytes of [A-Za-z0-9_.-], not "." or
// "..". Every name that reaches netlink, nft or iptables text passes here,
// whether it came from a flag, host.yaml or /run/tdxctl/net.json.
bool valid_ifname(const std::string& name);
// The same check as an error naming `what` and the name (invalid_input, exit 2).
core::Result<void> check_ifname(const std::string& what, const std::string& name);
// `name` when valid, else throws that error: for the renderers, so that no
// unchecked value is ever written into a rule.
const std::string& rule_ifname(const std::string& name);

// Reads the `network:` section of host.yaml (up::load_host_file's one pass)
// into `request`; keys absent in the file keep their current value. Each bad
// key is recorded in the section's reader with file:line:col; the
// cross-checks of validate() are the caller's.
void read_network_section(config::Section& network, NetRequest& request);

} // namespace tdx::net
