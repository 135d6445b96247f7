#pragma once
// The libnl-route-3 API as tdxctl uses it (net/link: links, addresses and
// routes over rtnetlink). Every call goes through api(): libnl-route-3.so.200
// (and libnl-3, its dependency, where dlsym finds the nl_* calls) is opened
// on first use (core::SharedLibrary), so only the network commands map it;
// the two cost every other command ~1 ms of start-up. The members are
// declared from libnl's own headers (decltype), so a signature cannot drift.

#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/macvtap.h>
#include <netlink/route/route.h>

#include "tdxctl/core/shared_library.hpp"

namespace tdx::libnl {

#define TDX_LIBNL_FUNCTIONS(X) \
  X(nl_addr2str) \
  X(nl_addr_get_binary_addr) \
  X(nl_addr_get_len) \
  X(nl_addr_get_prefixlen) \
  X(nl_addr_parse) \
  X(nl_addr_put) \
  X(nl_cache_free) \
  X(nl_cache_get_first) \
  X(nl_cache_get_next) \
  X(nl_connect) \
  X(nl_geterror) \
  X(nl_socket_alloc) \
  X(nl_socket_free) \
  X(rtnl_addr_add) \
  X(rtnl_addr_alloc) \
  X(rtnl_addr_alloc_cache) \
  X(rtnl_addr_delete) \
  X(rtnl_addr_get_family) \
  X(rtnl_addr_get_ifindex) \
  X(rtnl_addr_get_local) \
  X(rtnl_addr_get_prefixlen) \
  X(rtnl_addr_put) \
  X(rtnl_addr_set_family) \
  X(rtnl_addr_set_ifindex) \
  X(rtnl_addr_set_local) \
  X(rtnl_addr_set_prefixlen) \
  X(rtnl_link_add) \
  X(rtnl_link_alloc) \
  X(rtnl_link_bridge_alloc) \
  X(rtnl_link_change) \
  X(rtnl_link_delete) \
  X(rtnl_link_enslave) \
  X(rtnl_link_get_addr) \
  X(rtnl_link_get_flags) \
  X(rtnl_link_get_ifindex) \
  X(rtnl_link_get_kernel) \
  X(rtnl_link_get_master) \
  X(rtnl_link_get_mtu) \
  X(rtnl_link_get_name) \
  X(rtnl_link_get_type) \
  X(rtnl_link_macvtap_alloc) \
  X(rtnl_link_macvtap_set_mode) \
  X(rtnl_link_put) \
  X(rtnl_link_set_flags) \
  X(rtnl_link_set_link) \
  X(rtnl_link_set_name) \
  X(rtnl_link_unset_flags) \
  X(rtnl_route_alloc_cache) \
  X(rtnl_route_get_dst) \
  X(rtnl_route_get_nnexthops) \
  X(rtnl_route_get_table) \
  X(rtnl_route_nexthop_n) \
  X(rtnl_route_nh_get_ifindex)

struct Api {
  TDX_LIBNL_FUNCTIONS(TDX_API_MEMBER)
};

// Opens libnl-route-3.so.200 on first use; throws core::Failure (not_ready,
// core.library) when it is missing.
const Api& api();

} // namespace tdx::libnl
