#pragma once
// The values that go into a tdx-config volume, and their validation. The
// rules are at least as strict as the guest's (EXISTING-SCRIPTS.md §4.4), so
// bad input fails here and not after the TD has booted and powered off.

#include "tdxctl/core/error.hpp"
#include "tdxctl/core/root.hpp"
#include "tdxctl/core/secret.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tdx::config {
class Section;
}

namespace tdx::volume {

// The environment variable the miner seed may come from (listed with the
// other secret variables children never see).
inline constexpr const char* k_seed_env = core::k_miner_seed_env;

struct Ipv4Cidr {
  std::string address; // dotted quad, canonical
  int prefix = 24;
  uint32_t value = 0; // host byte order
};

// Each check returns the error message about the value alone; callers
// prefix it with where the value came from (a flag, or file:line:col key).
core::Result<std::string> check_hostname(std::string_view text);
core::Result<void> check_seed(std::string_view seed); // never echoes the seed
core::Result<uint32_t> parse_ipv4(std::string_view text);
core::Result<Ipv4Cidr> parse_ipv4_cidr(std::string_view text); // "a.b.c.d/n"
std::string format_ipv4(uint32_t value);

// Nameservers of this host (IPv4, not loopback) from /etc/resolv.conf under
// `root`; when that names only a local stub (systemd-resolved), its upstream
// list in /run/systemd/resolve/resolv.conf.
std::vector<std::string> host_resolvers(const core::Root& root);

// Raw values as given on the command line or in host.yaml's `config:`.
struct ConfigInput {
  std::string hostname;
  std::string miner_ss58;
  std::string seed_file; // path or "-" (stdin); empty: TDXCTL_MINER_SEED
  std::string vm_ip;     // "a.b.c.d/n"
  std::string gateway;
  std::vector<std::string> dns; // addresses, or the single word "host"
};

// Reads host.yaml's `config:` section (up::load_host_file's one pass) into
// `input`, validating each value where it is written (errors go to the
// section's reader with file:line:col and the key). A seed written inline is
// refused. miner_seed_file is kept as written: the loader makes it absolute.
void read_config_section(config::Section& section, ConfigInput& input);
// Flags win over the file: every field of `flags` still empty takes the
// file's value.
void fill_unset(ConfigInput& flags, const ConfigInput& file);

// Validated values, ready to be written.
struct ConfigValues {
  std::string hostname;
  std::string miner_ss58;
  core::Secret miner_seed;
  Ipv4Cidr vm_ip;
  std::string gateway;
  std::vector<std::string> dns;
};

// Validates everything (collecting every problem into one invalid_input
// error) and reads the seed from its file, stdin or the environment.
core::Result<ConfigValues> resolve_config(const ConfigInput& input, const core::Root& root);

} // namespace tdx::volume
