// rtnetlink through libnl-route-3 (the Debian library CONVENTIONS §13 names)
// instead of running `ip`: no output scraping, errors come back as the
// kernel's errno text, and the same calls serve plan probes and changes.
// Every object libnl hands out is released by a small RAII wrapper so an
// early Failure leaks nothing. Only the tap needs the /dev/net/tun ioctls:
// rtnetlink cannot create a persistent tun device or set its owner.
#include "tdxctl/net/link.hpp"

#include "tdxctl/libnl/api.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstring>

namespace tdx::net {

using core::Category;
using core::Failure;

namespace {

struct LinkPtr {
  rtnl_link* p = nullptr;
  ~LinkPtr() { if (p) libnl::api().rtnl_link_put(p); }
};
struct CachePtr {
  nl_cache* p = nullptr;
  ~CachePtr() { if (p) libnl::api().nl_cache_free(p); }
};
struct AddrPtr {
  rtnl_addr* p = nullptr;
  ~AddrPtr() { if (p) libnl::api().rtnl_addr_put(p); }
};
struct NlAddrPtr {
  nl_addr* p = nullptr;
  ~NlAddrPtr() { if (p) libnl::api().nl_addr_put(p); }
};

[[noreturn]] void netlink_failure(const std::string& what, int err) {
  Category category = err == -NLE_PERM ? Category::not_ready : Category::failed;
  throw Failure(category, "net.netlink", what + ": " + libnl::api().nl_geterror(err),
                err == -NLE_PERM ? "run as root (CAP_NET_ADMIN)" : "");
}

LinkInfo describe_link(rtnl_link* l) {
  LinkInfo info;
  info.name = libnl::api().rtnl_link_get_name(l) ? libnl::api().rtnl_link_get_name(l) : "";
  info.ifindex = libnl::api().rtnl_link_get_ifindex(l);
  const char* kind = libnl::api().rtnl_link_get_type(l);
  info.kind = kind ? kind : "";
  info.up = (libnl::api().rtnl_link_get_flags(l) & IFF_UP) != 0;
  info.master = libnl::api().rtnl_link_get_master(l);
  info.mtu = static_cast<int>(libnl::api().rtnl_link_get_mtu(l));
  if (nl_addr* a = libnl::api().rtnl_link_get_addr(l)) {
    char buf[64] = {};
    info.mac = libnl::api().nl_addr2str(a, buf, sizeof buf);
  }
  return info;
}

} // namespace

Netlink::Netlink() {
  m_sock = libnl::api().nl_socket_alloc();
  if (!m_sock) throw Failure(Category::failed, "net.netlink", "cannot allocate a netlink socket");
  if (int err = libnl::api().nl_connect(m_sock, NETLINK_ROUTE); err < 0) {
    libnl::api().nl_socket_free(m_sock);
    m_sock = nullptr;
    netlink_failure("cannot open rtnetlink", err);
  }
}

Netlink::~Netlink() {
  if (m_sock) libnl::api().nl_socket_free(m_sock);
}

std::optional<LinkInfo> Netlink::link(const std::string& name) {
  LinkPtr l;
  int err = libnl::api().rtnl_link_get_kernel(m_sock, 0, name.c_str(), &l.p);
  if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV) return std::nullopt;
  if (err < 0) netlink_failure("cannot read link " + name, err);
  return describe_link(l.p);
}

std::optional<LinkInfo> Netlink::link(int ifindex) {
  LinkPtr l;
  int err = libnl::api().rtnl_link_get_kernel(m_sock, ifindex, nullptr, &l.p);
  if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV) return std::nullopt;
  if (err < 0) netlink_failure("cannot read link #" + std::to_string(ifindex), err);
  return describe_link(l.p);
}

std::vector<AddressInfo> Netlink::ipv4_addresses() {
  CachePtr cache;
  if (int err = libnl::api().rtnl_addr_alloc_cache(m_sock, &cache.p); err < 0)
    netlink_failure("cannot list addresses", err);
  std::vector<AddressInfo> out;
  for (nl_object* o = libnl::api().nl_cache_get_first(cache.p); o; o = libnl::api().nl_cache_get_next(o)) {
    auto* a = reinterpret_cast<rtnl_addr*>(o);
    if (libnl::api().rtnl_addr_get_family(a) != AF_INET) continue;
    nl_addr* local = libnl::api().rtnl_addr_get_local(a);
    if (!local || libnl::api().nl_addr_get_len(local) != 4) continue;
    AddressInfo info;
    info.ifindex = libnl::api().rtnl_addr_get_ifindex(a);
    uint32_t be = 0;
    std::memcpy(&be, libnl::api().nl_addr_get_binary_addr(local), 4);
    info.cidr.address = ntohl(be);
    info.cidr.prefix = static_cast<int>(libnl::api().rtnl_addr_get_prefixlen(a));
    if (auto l = link(info.ifindex)) info.link = l->name;
    out.push_back(std::move(info));
  }
  return out;
}

std::optional<std::string> Netlink::default_route_interface() {
  CachePtr cache;
  if (int err = libnl::api().rtnl_route_alloc_cache(m_sock, AF_INET, 0, &cache.p); err < 0)
    netlink_failure("cannot read the routing table", err);
  for (nl_object* o = libnl::api().nl_cache_get_first(cache.p); o; o = libnl::api().nl_cache_get_next(o)) {
    auto* r = reinterpret_cast<rtnl_route*>(o);
    if (libnl::api().rtnl_route_get_table(r) != RT_TABLE_MAIN) continue;
    nl_addr* dst = libnl::api().rtnl_route_get_dst(r);
    if (dst && libnl::api().nl_addr_get_prefixlen(dst) != 0) continue;
    if (libnl::api().rtnl_route_get_nnexthops(r) < 1) continue;
    int ifindex = libnl::api().rtnl_route_nh_get_ifindex(libnl::api().rtnl_route_nexthop_n(r, 0));
    if (auto l = link(ifindex)) return l->name;
  }
  return std::nullopt;
}

void Netlink::create_bridge(const std::string& name) {
  LinkPtr l{libnl::api().rtnl_link_bridge_alloc()};
  libnl::api().rtnl_link_set_name(l.p, name.c_str());
  if (int err = libnl::api().rtnl_link_add(m_sock, l.p, NLM_F_CREATE | NLM_F_EXCL); err < 0)
    netlink_failure("cannot create bridge " + name, err);
}

void Netlink::create_tap(const std::string& name, uid_t uid) {
  int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0)
    throw Failure(Category::not_ready, "net.tun", std::string("cannot open /dev/net/tun: ") + std::strerror(errno),
                  "load the tun module (modprobe tun)");
  ifreq ifr{};
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  auto step = [&](unsigned long request, unsigned long arg, const char* what) {
    int rc = request == TUNSETIFF ? ::ioctl(fd, request, &ifr) : ::ioctl(fd, request, arg);
    if (rc < 0) {
      int e = errno;
      ::close(fd);
      throw Failure(Category::failed, "net.tun", "cannot create tap " + name + " (" + what + "): " + std::strerror(e));
    }
  };
  step(TUNSETIFF, 0, "TUNSETIFF");
  step(TUNSETOWNER, uid, "TUNSETOWNER");
  step(TUNSETPERSIST, 1, "TUNSETPERSIST");
  ::close(fd);
}

void Netlink::create_macvtap(const std::string& name, const std::string& parent) {
  auto p = link(parent);
  if (!p) throw Failure(Category::not_ready, "net.no_interface", "interface " + parent + " does not exist");
  LinkPtr l{libnl::api().rtnl_link_macvtap_alloc()};
  libnl::api().rtnl_link_set_name(l.p, name.c_str());
  libnl::api().rtnl_link_set_link(l.p, p->ifindex);
  libnl::api().rtnl_link_macvtap_set_mode(l.p, MACVLAN_MODE_BRIDGE);
  if (int err = libnl::api().rtnl_link_add(m_sock, l.p, NLM_F_CREATE | NLM_F_EXCL); err < 0)
    netlink_failure("cannot create macvtap " + name + " on " + parent, err);
}

void Netlink::delete_link(const std::string& name) {
  LinkPtr l{libnl::api().rtnl_link_alloc()};
  libnl::api().rtnl_link_set_name(l.p, name.c_str());
  int err = libnl::api().rtnl_link_delete(m_sock, l.p);
  if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV) return;
  if (err < 0) netlink_failure("cannot delete link " + name, err);
}

void Netlink::set_up(const std::string& name, bool up) {
  LinkPtr orig;
  if (int err = libnl::api().rtnl_link_get_kernel(m_sock, 0, name.c_str(), &orig.p); err < 0)
    netlink_failure("cannot read link " + name, err);
  LinkPtr change{libnl::api().rtnl_link_alloc()};
  if (up) libnl::api().rtnl_link_set_flags(change.p, IFF_UP);
  else libnl::api().rtnl_link_unset_flags(change.p, IFF_UP);
  if (int err = libnl::api().rtnl_link_change(m_sock, orig.p, change.p, 0); err < 0)
    netlink_failure(std::string("cannot set ") + name + (up ? " up" : " down"), err);
}

void Netlink::set_master(const std::string& name, const std::string& master) {
  LinkPtr m, s;
  if (int err = libnl::api().rtnl_link_get_kernel(m_sock, 0, master.c_str(), &m.p); err < 0)
    netlink_failure("cannot read link " + master, err);
  if (int err = libnl::api().rtnl_link_get_kernel(m_sock, 0, name.c_str(), &s.p); err < 0)
    netlink_failure("cannot read link " + name, err);
  if (int err = libnl::api().rtnl_link_enslave(m_sock, m.p, s.p); err < 0)
    netlink_failure("cannot attach " + name + " to " + master, err);
}

static void with_address(Netlink& nl, const std::string& link, const Ipv4Cidr& cidr, AddrPtr& out) {
  auto l = nl.link(link);
  if (!l) throw Failure(Category::failed, "net.no_interface", "interface " + link + " does not exist");
  NlAddrPtr local;
  if (int err = libnl::api().nl_addr_parse(cidr.text().c_str(), AF_INET, &local.p); err < 0)
    netlink_failure("bad address " + cidr.text(), err);
  out.p = libnl::api().rtnl_addr_alloc();
  libnl::api().rtnl_addr_set_ifindex(out.p, l->ifindex);
  libnl::api().rtnl_addr_set_family(out.p, AF_INET);
  libnl::api().rtnl_addr_set_local(out.p, local.p);
  libnl::api().rtnl_addr_set_prefixlen(out.p, cidr.prefix);
}

void Netlink::add_address(const std::string& link, const Ipv4Cidr& cidr) {
  AddrPtr a;
  with_address(*this, link, cidr, a);
  if (int err = libnl::api().rtnl_addr_add(m_sock, a.p, NLM_F_CREATE | NLM_F_EXCL); err < 0)
    netlink_failure("cannot add " + cidr.text() + " to " + link, err);
}

void Netlink::delete_address(const std::string& link, const Ipv4Cidr& cidr) {
  AddrPtr a;
  with_address(*this, link, cidr, a);
  int err = libnl::api().rtnl_addr_delete(m_sock, a.p, 0);
  if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NOADDR) return;
  if (err < 0) netlink_failure("cannot remove " + cidr.text() + " from " + link, err);
}

} // namespace tdx::net
