#pragma once
// The record `net up` keeps in /run/tdxctl/net.json (under --root): what it
// created (as opposed to found), and the ip_forward value it replaced, so
// that `net down` removes exactly that and restores the sysctl. /run is
// tmpfs: after a reboot the links and rules are gone and so is the record.

#include "tdxctl/core/output.hpp"
#include "tdxctl/core/root.hpp"
#include "tdxctl/net/network_spec.hpp"

#include <optional>
#include <string>
#include <vector>

namespace tdx::net {

struct NetState {
  Mode mode = Mode::bridge;
  std::string bridge, bridge_address, tap, macvtap, public_interface, vm_address;
  std::vector<std::string> forwards;
  bool created_bridge = false;
  bool added_address = false;
  bool created_tap = false;
  bool created_macvtap = false;
  std::optional<std::string> ip_forward_previous; // set when up changed it
  core::Json to_json() const;
  static NetState from_json(const core::Json& json);
};

inline constexpr const char* kStatePath = "/run/tdxctl/net.json";

// Nullopt when there is no record; Failure (invalid_input) when it is corrupt.
std::optional<NetState> load_state(const core::Root& root);
void save_state(const core::Root& root, const NetState& state);
void remove_state(const core::Root& root);

} // namespace tdx::net
