// Validation of the config volume's values. The guest (process-config.py)
// powers the TD off on a bad hostname, hotkey, seed or netplan, so every rule
// it applies is applied here first, plus what it misses: the SS58 checksum,
// lowercase hostnames (k3s node names), real IPv4 syntax, a gateway inside
// the VM's subnet. Messages never contain the seed.
#include "tdxctl/volume/config_values.hpp"

#include "tdxctl/config/host_yaml.hpp"
#include "tdxctl/config/yaml_reader.hpp"
#include "tdxctl/core/ss58.hpp"

#include <arpa/inet.h>

#include <sstream>

namespace tdx::volume {

using core::Category;
using core::fail;

static core::Result<void> bad(std::string message, std::string hint = {}) {
  return fail(Category::invalid_input, "volume.config.invalid", std::move(message),
              std::move(hint));
}

core::Result<std::string> check_hostname(std::string_view text) {
  if (text.empty()) return std::unexpected(bad("must not be empty").error());
  if (text.size() > 63)
    return std::unexpected(
        bad("is " + std::to_string(text.size()) + " characters; at most 63 are allowed").error());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (c >= 'A' && c <= 'Z')
      return std::unexpected(bad("character " + std::to_string(i + 1) + " ('" + c +
                                     "') is uppercase; use lowercase (k3s node names are "
                                     "lowercase RFC 1123 labels)")
                                 .error());
    if (!ok)
      return std::unexpected(bad("character " + std::to_string(i + 1) +
                                 " is not allowed; expected an RFC 1123 label: a-z, 0-9 and '-'")
                                 .error());
  }
  if (text.front() == '-' || text.back() == '-')
    return std::unexpected(bad("must not start or end with '-'").error());
  return std::string(text);
}

core::Result<void> check_seed(std::string_view seed) {
  if (seed.size() >= 2 && seed[0] == '0' && (seed[1] == 'x' || seed[1] == 'X'))
    return bad("starts with '0x'; the guest expects the 64 hex digits without a prefix");
  if (seed.size() != 64)
    return bad("is " + std::to_string(seed.size()) + " characters; expected exactly 64 hex digits");
  for (size_t i = 0; i < seed.size(); ++i)
    if (!std::isxdigit(static_cast<unsigned char>(seed[i])))
      return bad("character " + std::to_string(i + 1) + " is not a hex digit");
  return {};
}

core::Result<uint32_t> parse_ipv4(std::string_view text) {
  in_addr addr{};
  std::string s(text);
  if (::inet_pton(AF_INET, s.c_str(), &addr) != 1)
    return std::unexpected(bad("'" + s + "' is not an IPv4 address (expected a.b.c.d)").error());
  return ntohl(addr.s_addr);
}

std::string format_ipv4(uint32_t value) {
  in_addr addr{htonl(value)};
  char buf[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &addr, buf, sizeof buf);
  return buf;
}

core::Result<Ipv4Cidr> parse_ipv4_cidr(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos)
    return std::unexpected(bad("'" + std::string(text) +
                               "' has no prefix length; expected a.b.c.d/n, e.g. 192.168.100.2/24")
                               .error());
  auto ip = parse_ipv4(text.substr(0, slash));
  if (!ip) return std::unexpected(ip.error());
  auto len = text.substr(slash + 1);
  int prefix = -1;
  if (!len.empty() && len.size() <= 2 &&
      len.find_first_not_of("0123456789") == std::string_view::npos)
    prefix = std::stoi(std::string(len));
  if (prefix < 8 || prefix > 30)
    return std::unexpected(bad("prefix length '/" + std::string(len) +
                               "' is out of range; expected 8..30 (a subnet with a gateway)")
                               .error());
  uint32_t mask = prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix);
  uint32_t host = *ip & ~mask;
  if (host == 0 || host == ~mask)
    return std::unexpected(
        bad("'" + std::string(text) + "' is the network or broadcast address of its subnet")
            .error());
  return Ipv4Cidr{format_ipv4(*ip), prefix, *ip};
}

std::vector<std::string> host_resolvers(const core::Root& root) {
  auto parse = [](const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream words(line);
      std::string key, value;
      if (!(words >> key >> value) || key != "nameserver") continue;
      auto ip = parse_ipv4(value);
      if (ip && (*ip >> 24) != 127) out.push_back(format_ipv4(*ip));
    }
    return out;
  };
  auto servers = parse(root.read("/etc/resolv.conf").value_or(""));
  if (servers.empty()) servers = parse(root.read("/run/systemd/resolve/resolv.conf").value_or(""));
  return servers;
}

void read_config_section(config::Section& section, ConfigInput& input) {
  section.allow_only(config::host_keys::config);
  if (section.has("miner_seed"))
    section.error("miner_seed", "the miner seed is not read from host.yaml (config files get "
                                "copied and shared); put it in a 0600 file and set "
                                "miner_seed_file, or use TDXCTL_MINER_SEED");
  auto take = [&](std::string_view key, std::string& field, auto check) {
    auto value = section.str(key);
    if (!value) return;
    if (auto r = check(*value); !r) section.error(key, r.error().message);
    field = *value;
  };
  take("hostname", input.hostname, check_hostname);
  take("miner_ss58", input.miner_ss58, core::check_ss58_hotkey);
  if (auto file = section.str("miner_seed_file")) input.seed_file = *file;
  take("vm_ip", input.vm_ip, parse_ipv4_cidr);
  take("gateway", input.gateway, parse_ipv4);
  if (auto dns = section.strings("dns")) {
    for (const auto& d : *dns)
      if (d != "host")
        if (auto r = parse_ipv4(d); !r) section.error("dns", r.error().message);
    input.dns = *dns;
  }
}

void fill_unset(ConfigInput& flags, const ConfigInput& file) {
  for (auto [field, from] : {std::pair{&flags.hostname, &file.hostname},
                             std::pair{&flags.miner_ss58, &file.miner_ss58},
                             std::pair{&flags.seed_file, &file.seed_file},
                             std::pair{&flags.vm_ip, &file.vm_ip},
                             std::pair{&flags.gateway, &file.gateway}})
    if (field->empty()) *field = *from;
  if (flags.dns.empty()) flags.dns = file.dns;
}

core::Result<ConfigValues> resolve_config(const ConfigInput& input, const core::Root& root) {
  std::vector<std::string> errors;
  ConfigValues values;
  auto need = [&](const std::string& value, const char* flag) {
    if (value.empty()) errors.push_back(std::string(flag) + ": required");
    return !value.empty();
  };
  if (need(input.hostname, "--hostname")) {
    if (auto r = check_hostname(input.hostname)) values.hostname = *r;
    else errors.push_back("--hostname: " + r.error().message);
  }
  if (need(input.miner_ss58, "--miner-ss58")) {
    if (auto r = core::check_ss58_hotkey(input.miner_ss58)) values.miner_ss58 = *r;
    else errors.push_back("--miner-ss58: " + r.error().message);
  }
  if (need(input.vm_ip, "--vm-ip")) {
    if (auto r = parse_ipv4_cidr(input.vm_ip)) values.vm_ip = *r;
    else errors.push_back("--vm-ip: " + r.error().message);
  }
  if (need(input.gateway, "--gateway")) {
    if (auto r = parse_ipv4(input.gateway)) {
      values.gateway = format_ipv4(*r);
      uint32_t mask = ~uint32_t{0} << (32 - values.vm_ip.prefix);
      if (values.vm_ip.value != 0 && (*r & mask) != (values.vm_ip.value & mask))
        errors.push_back("--gateway: " + values.gateway + " is outside the VM's subnet " +
                         format_ipv4(values.vm_ip.value & mask) + "/" +
                         std::to_string(values.vm_ip.prefix));
      else if (*r == values.vm_ip.value)
        errors.push_back("--gateway: " + values.gateway + " is the VM's own address");
    } else {
      errors.push_back("--gateway: " + r.error().message);
    }
  }
  if (input.dns.empty()) {
    errors.push_back("--dns: required: give the resolvers the TD should use (repeat --dns), or "
                     "'--dns host' to take this host's resolvers");
  } else if (input.dns.size() == 1 && input.dns[0] == "host") {
    values.dns = host_resolvers(root);
    if (values.dns.empty())
      errors.push_back("--dns host: this host's resolv.conf names no IPv4 nameserver outside "
                       "127.0.0.0/8; give the resolvers with --dns a.b.c.d");
  } else {
    for (const auto& d : input.dns) {
      if (auto r = parse_ipv4(d)) values.dns.push_back(format_ipv4(*r));
      else errors.push_back("--dns: " + r.error().message + (d == "host" ? " ('host' must be given alone)" : ""));
    }
  }
  // The seed last, and only if its source is readable: its checks never echo it.
  auto seed = input.seed_file.empty()
                  ? core::Secret::from_env(k_seed_env, "miner seed")
                  : core::Secret::from_file(input.seed_file, "miner seed (--seed-file)");
  if (!seed) {
    errors.push_back(seed.error().message +
                     (input.seed_file.empty()
                          ? " (give the seed with --seed-file FILE, --seed-file - for stdin, "
                            "or the environment variable TDXCTL_MINER_SEED)"
                          : ""));
  } else if (auto r = check_seed(seed->reveal()); !r) {
    errors.push_back(std::string("miner seed (") +
                     (input.seed_file.empty() ? k_seed_env
                      : input.seed_file == "-" ? "stdin"
                                               : input.seed_file) +
                     "): " + r.error().message);
  } else {
    values.miner_seed = std::move(*seed);
  }
  if (!errors.empty()) {
    std::string message = "invalid config volume values:";
    for (const auto& e : errors) message += "\n  " + e;
    return fail(Category::invalid_input, "volume.config.invalid", message,
                "see 'tdxctl volume config create --help'");
  }
  return values;
}

} // namespace tdx::volume
