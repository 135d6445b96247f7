// Reading the identity files. Today's script pipes through `tr -d '\n\r\t '`
// and then `grep -o '^[[:alnum:]_-]*'` / `head -c 64`; an empty result there
// went unnoticed and the key service got an empty name. Here it is an error
// naming the file.
#include "tdxctl/unlock/vm_identity.hpp"

#include "tdxctl/core/ss58.hpp"

#include <fmt/format.h>

#include <cctype>

namespace tdx::unlock {
namespace {

std::string strip_whitespace(std::string_view raw) {
  std::string out;
  for (char c : raw)
    if (c != '\n' && c != '\r' && c != '\t' && c != ' ') out.push_back(c);
  return out;
}

core::Result<std::string_view> checked_value(const ConfigBinding& binding, const char* name) {
  if (const core::Secret* value = binding.content(name)) return value->reveal();
  return core::fail(core::Category::not_ready, "unlock.config_volume",
                    fmt::format("{} does not exist", (binding.dir / name).string()),
                    "is the tdx-config volume attached and mounted (see tdxctl-volume(1))?");
}

} // namespace

std::string sanitise_vm_name(std::string_view raw) {
  std::string s = strip_whitespace(raw);
  size_t n = 0;
  while (n < s.size() && (std::isalnum(static_cast<unsigned char>(s[n])) || s[n] == '_' || s[n] == '-')) ++n;
  return s.substr(0, n);
}

std::string sanitise_hotkey(std::string_view raw) { return strip_whitespace(raw); }

core::Result<VmIdentity> vm_identity_from(const ConfigBinding& binding) {
  const auto& dir = binding.dir;
  auto host = checked_value(binding, "hostname");
  if (!host) return std::unexpected(host.error());
  auto ss58 = checked_value(binding, "miner-ss58");
  if (!ss58) return std::unexpected(ss58.error());
  VmIdentity id{sanitise_vm_name(*host), sanitise_hotkey(*ss58)};
  if (id.vm_name.empty())
    return core::fail(core::Category::invalid_input, "unlock.vm_name",
                      fmt::format("{}: no hostname (expected letters, digits, '_' or '-' at the start)",
                                  (dir / "hostname").string()));
  if (id.miner_hotkey.empty())
    return core::fail(core::Category::invalid_input, "unlock.hotkey",
                      fmt::format("{} is empty", (dir / "miner-ss58").string()));
  // The host controls the volume: its value goes to the key service and into
  // /run/chutes/hotkey, which later stages read, so it must be an address
  // (the host's own check, core/ss58), never shell text or terminal escapes.
  if (auto ok = core::check_ss58_hotkey(id.miner_hotkey); !ok)
    return core::fail(core::Category::invalid_input, "unlock.hotkey",
                      fmt::format("{}: the value {}", (dir / "miner-ss58").string(), ok.error().message),
                      "recreate the tdx-config volume with `tdxctl volume config create --miner-ss58 ADDRESS`");
  return id;
}

} // namespace tdx::unlock
