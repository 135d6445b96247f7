#pragma once
// host.yaml's shape: its top-level sections and, per section, the keys its
// reader accepts. Each reader passes its list to allow_only and the man page
// is generated from the same lists (host_yaml_keys), so an unknown key is the
// same error whichever command reads the file and the documentation cannot
// name a key the readers refuse, or miss one they accept.

#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tdx::config {

inline const std::initializer_list<std::string_view> k_host_yaml_sections = {
    "host", "gpu", "config", "volumes", "network", "td", "attest"};

namespace host_keys {
inline const std::initializer_list<std::string_view> host = {"require_attestation"};
inline const std::initializer_list<std::string_view> gpu = {"devices", "persist", "mode", "ppcie",
                                                            "admin_tool"};
inline const std::initializer_list<std::string_view> config = {
    "hostname", "miner_ss58", "miner_seed_file", "vm_ip", "gateway", "dns", "miner_seed"};
inline const std::initializer_list<std::string_view> volumes = {"format", "cache_size",
                                                                "containerd_size"};
inline const std::initializer_list<std::string_view> network = {
    "mode", "bridge", "bridge_address", "vm_address", "tap", "tap_user", "public_interface",
    "forwards", "macvtap", "firewall"};
inline const std::initializer_list<std::string_view> td = {
    "name", "vcpus", "memory_gib", "image", "config_volume", "cache_volume", "containerd_volume",
    "gpus", "nvswitches", "network", "firmware", "boot", "qgs_socket", "mr_config_id", "mr_owner",
    "mr_owner_config", "vsock_cid", "gpu_mmio_gib", "debug", "no_tdx", "measure"};
// td.network without a top-level network: (older files); with one, only mac.
inline const std::initializer_list<std::string_view> td_network = {"bridge", "macvtap", "mac"};
inline const std::initializer_list<std::string_view> td_network_with_top = {"mac"};
inline const std::initializer_list<std::string_view> td_measure = {"platform", "acpi_tables"};
inline const std::initializer_list<std::string_view> attest = {
    "collateral", "policy", "accept", "allow_debug", "port", "unix", "timeout", "at", "trust_root"};
} // namespace host_keys

// Every mapping of host.yaml by its dotted path, with the keys it accepts.
// A key that is itself a mapping (td.network, td.measure) has its own entry.
struct SectionKeys {
  std::string_view path;
  std::initializer_list<std::string_view> keys;
};
inline const std::initializer_list<SectionKeys> host_yaml_keys = {
    {"host", host_keys::host},       {"gpu", host_keys::gpu},
    {"config", host_keys::config},   {"volumes", host_keys::volumes},
    {"network", host_keys::network}, {"td", host_keys::td},
    {"td.network", host_keys::td_network}, {"td.measure", host_keys::td_measure},
    {"attest", host_keys::attest}};

// One entry of the documentation: keys (dotted) that share one text.
struct KeyDoc {
  std::vector<std::string> keys;
  std::string_view text;
};
// Every key of `sections`, in their order, with the text `texts` gives its
// dotted name or, when it has none, joined to the entry before it in its
// section; a key that is itself a mapping with its own entry in `sections`
// is documented by that entry's keys. Throws Failure when a text names a key
// no reader accepts or a section's first key has no text: the page would
// have drifted from the readers.
std::vector<KeyDoc> document_keys(
    const std::vector<std::pair<std::string_view, std::string_view>>& texts,
    std::initializer_list<SectionKeys> sections = host_yaml_keys);

// `path` made absolute against `base_dir`: the directory of the host.yaml it
// was written in, or the working directory for a flag. libvirt resolves a
// relative path against its own directory (and its schema takes only
// absolute ones), so every path tdxctl reads from the file or a flag goes
// through here once. Empty stays empty (not given).
std::string absolute_path(const std::string& path, const std::filesystem::path& base_dir);
// The same for a flag: against the directory tdxctl runs in.
std::string absolute_path(const std::string& path);

} // namespace tdx::config
