#pragma once
// `tdxctl config init`: a commented host.yaml that starts from what this
// host has (the default-route interface, the NVIDIA GPUs and NVSwitches,
// the free space where the volumes go), for the operator to edit. The file
// is valid as written: what cannot be guessed (the miner's identity) is
// left commented out with an explanation.

#include "tdxctl/core/root.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tdx::up {

struct HostFacts {
  std::string public_interface; // of the IPv4 default route ("" if none)
  std::vector<std::string> gpus;       // NVIDIA GPU addresses
  std::vector<std::string> nvswitches; // NVSwitch addresses
  std::string volume_dir = "/var/lib/libvirt/images";
  std::optional<uint64_t> free_bytes; // on the filesystem holding volume_dir
};

// Everything through the Root: /proc/net/route, sysfs, statvfs.
HostFacts gather_host_facts(const core::Root& root, const std::string& volume_dir);
// The interface of the IPv4 default route in a /proc/net/route text.
std::optional<std::string> default_route_from_proc(const std::string& route_table);

std::string render_host_yaml(const HostFacts& facts);

} // namespace tdx::up
