// Cross-section checks of host.yaml. Each one names the key to change and
// what it must agree with, because "invalid network" alone sends the
// operator hunting through the whole file.
#include "tdxctl/up/cross_check.hpp"

#include "tdxctl/config/yaml_reader.hpp"
#include "tdxctl/sysfs/pci.hpp"

#include <algorithm>
#include <string>
#include <filesystem>

namespace tdx::up {

namespace {

void check_network(const net::NetRequest& request, config::Section network) {
  if (request.mode != net::Mode::bridge) {
    if (auto spec = net::validate(request); !spec) network.error("", spec.error().message);
    return;
  }
  auto bridge = net::parse_cidr(request.bridge_address);
  if (!bridge) {
    network.error("bridge_address", bridge.error().message);
    return;
  }
  bool reported = false;
  if (auto vm = net::parse_cidr(request.vm_address, 32); !vm) {
    reported = true;
    network.error("vm_address", vm.error().message);
  } else if (!bridge->contains(vm->address) || vm->address == bridge->address) {
    reported = true;
    network.error("vm_address", "VM address " + vm->address_text() +
                                    (vm->address == bridge->address
                                         ? " is the bridge's own address (network.bridge_address)"
                                         : " is outside the bridge subnet " + bridge->network_text() +
                                               " (network.bridge_address)"));
  }
  std::vector<net::PortForward> seen;
  for (const auto& text : request.forwards) {
    auto f = net::parse_port_forward(text);
    if (!f) continue; // already reported where it was read
    for (const auto& other : seen)
      if (other.proto == f->proto && f->first <= other.last && other.first <= f->last)
        reported = true, network.error("forwards", "port forwards " + other.text() + " and " + f->text() +
                                      " overlap; each host port can go to one guest port");
    seen.push_back(*f);
  }
  // Whatever else validate() finds (names, prefix range) with the section's position.
  if (reported) return;
  if (auto spec = net::validate(request); !spec) network.error("", spec.error().message);
}

// The guest's own address and gateway (config volume) must be the ones the
// host network routes and forwards to, or the TD boots unreachable.
void check_config_against_network(const volume::ConfigInput& config,
                                  const net::NetRequest& request, config::Section section) {
  if (request.mode != net::Mode::bridge) return;
  auto bridge = net::parse_cidr(request.bridge_address);
  auto vm = net::parse_cidr(request.vm_address, 32);
  if (!bridge || !vm) return;
  if (!config.vm_ip.empty()) {
    auto ip = net::parse_cidr(config.vm_ip);
    if (ip && (ip->address != vm->address || ip->prefix != bridge->prefix))
      section.error("vm_ip", "is " + config.vm_ip + " but the network gives the TD " +
                                 vm->address_text() + "/" + std::to_string(bridge->prefix) +
                                 " (network.vm_address on network.bridge_address)");
  }
  if (!config.gateway.empty()) {
    auto gw = net::parse_cidr(config.gateway, 32);
    if (gw && gw->address != bridge->address)
      section.error("gateway", "is " + config.gateway + " but the bridge (the TD's gateway) is " +
                                   bridge->address_text() + " (network.bridge_address)");
  }
}

void check_paths(const td::TdSpec& spec, config::Section td) {
  std::vector<std::pair<const char*, std::string>> paths = {
      {"image", spec.image},
      {"config_volume", spec.config_volume},
      {"cache_volume", spec.cache_volume},
      {"containerd_volume", spec.containerd_volume}};
  for (size_t i = 0; i < paths.size(); ++i) {
    if (paths[i].second.empty()) continue;
    auto a = std::filesystem::path(paths[i].second).lexically_normal();
    for (size_t j = 0; j < i; ++j)
      if (!paths[j].second.empty() && std::filesystem::path(paths[j].second).lexically_normal() == a)
        td.error(paths[i].first, "is the same file as td." + std::string(paths[j].first) + " (" +
                                     paths[i].second + "); every disk needs its own file");
  }
}

} // namespace

void cross_check(const HostFile& file, config::Section& root) {
  if (file.network) check_network(*file.network, root.section("network"));
  if (file.config && file.network)
    check_config_against_network(*file.config, *file.network, root.section("config"));
  auto td = root.section("td");
  check_paths(file.td, td);
  // Without td: (volume config create -c, net up -c) there is no TD to write it for.
  if (file.config && root.has("td") && file.td.config_volume.empty())
    root.error("config", "a config: section needs td.config_volume, the file to write the "
                         "tdx-config volume to");
  if (file.gpu && !file.gpu->all && !file.td.gpus.empty() && file.td.gpus[0] != "all-bound")
    for (const auto& g : file.td.gpus)
      if (sysfs::normalize_pci_address(g) == g && std::find(file.gpu->devices.begin(), file.gpu->devices.end(), g) == file.gpu->devices.end())
        td.error("gpus", g + " is not in gpu.devices, so it would not be bound to vfio-pci "
                             "before the TD starts");
  if (file.attest && file.attest->unix_socket.empty() && file.td.vsock_cid < 3)
    root.error("attest", "the attestation endpoint is reached over vsock, but the TD has none");
}

} // namespace tdx::up
