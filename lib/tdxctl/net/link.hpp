#pragma once
// Links and addresses in the current network namespace, through libnl-route
// (rtnetlink). Reads return values; changes throw core::Failure naming the
// link and the kernel's reason. The tap is the one thing netlink cannot
// create: it comes from the /dev/net/tun ioctls, as `ip tuntap` does.

#include "tdxctl/core/error.hpp"
#include "tdxctl/net/network_spec.hpp"

#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

struct nl_sock;

namespace tdx::net {

struct LinkInfo {
  std::string name;
  int ifindex = 0;
  std::string kind;   // "bridge", "tun", "macvtap", "veth", "" for a plain device
  bool up = false;
  int master = 0;     // ifindex of the bridge it is enslaved to, 0 if none
  std::string mac;
  int mtu = 0;
};

struct AddressInfo {
  std::string link;
  int ifindex = 0;
  Ipv4Cidr cidr;
};

class Netlink {
public:
  Netlink(); // Failure when the rtnetlink socket cannot be opened
  ~Netlink();
  Netlink(const Netlink&) = delete;
  Netlink& operator=(const Netlink&) = delete;

  std::optional<LinkInfo> link(const std::string& name);
  std::optional<LinkInfo> link(int ifindex);
  std::vector<AddressInfo> ipv4_addresses();
  // The interface of the IPv4 default route in the main table, if any.
  std::optional<std::string> default_route_interface();

  void create_bridge(const std::string& name);
  // A persistent tap owned by `uid` (IFF_TAP | IFF_NO_PI, like `ip tuntap`).
  void create_tap(const std::string& name, uid_t uid);
  void create_macvtap(const std::string& name, const std::string& parent);
  void delete_link(const std::string& name);
  void set_up(const std::string& name, bool up);
  void set_master(const std::string& name, const std::string& master);
  void add_address(const std::string& link, const Ipv4Cidr& cidr);
  void delete_address(const std::string& link, const Ipv4Cidr& cidr);

private:
  nl_sock* m_sock = nullptr;
};

} // namespace tdx::net
