// unlock.conf parsing. The file is shell syntax and may be sourced by /bin/sh,
// so values are accepted only in forms where the shell and this parser agree:
// bare words without shell metacharacters, or '...' / "..." without
// expansions inside.
#include "tdxctl/unlock/unlock_config.hpp"

#include "tdxctl/core/fs.hpp"
#include "tdxctl/core/root.hpp"
#include "tdxctl/unlock/containerd_volume.hpp"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <set>

namespace tdx::unlock {
namespace {

core::Error bad(std::string_view origin, size_t line, std::string message) {
  return core::Error{core::Category::invalid_input, "unlock.config",
                     fmt::format("{}:{}: {}", origin, line, message),
                     "see tdxctl-unlock(1), FILES, for the keys of unlock.conf"};
}

core::Result<std::string> unquote(std::string_view raw) {
  if (raw.size() >= 2 && (raw.front() == '\'' || raw.front() == '"')) {
    char q = raw.front();
    if (raw.back() != q) return core::fail(core::Category::invalid_input, "", "unterminated quote");
    auto inner = raw.substr(1, raw.size() - 2);
    if (inner.find(q) != std::string_view::npos)
      return core::fail(core::Category::invalid_input, "", "stray quote inside the value");
    if (q == '"' && inner.find_first_of("$`\\") != std::string_view::npos)
      return core::fail(core::Category::invalid_input, "",
                        "'$', '`' and '\\' inside double quotes would be expanded by the shell; use single quotes");
    return std::string(inner);
  }
  if (auto pos = raw.find_first_of(" \t;&|<>()$`\\\"'"); pos != std::string_view::npos)
    return core::fail(core::Category::invalid_input, "",
                      fmt::format("character '{}' needs quoting for the shell that also reads this file", raw[pos]));
  return std::string(raw);
}

core::Result<int> parse_int(std::string_view text, int lo, int hi) {
  int v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v < lo || v > hi)
    return core::fail(core::Category::invalid_input, "",
                      fmt::format("'{}' is not an integer from {} to {}", text, lo, hi));
  return v;
}

} // namespace

core::Result<void> check_https_url(std::string_view url) {
  constexpr std::string_view scheme = "https://";
  if (url.substr(0, scheme.size()) != scheme)
    return core::fail(core::Category::invalid_input, "unlock.url",
                      fmt::format("'{}' is not an https:// URL (the key is only released over mTLS)", url));
  auto rest = url.substr(scheme.size());
  auto host = rest.substr(0, rest.find_first_of("/?#"));
  if (host.empty() || host.front() == ':' || host.find('@') != std::string_view::npos)
    return core::fail(core::Category::invalid_input, "unlock.url",
                      fmt::format("'{}' has no host (or carries credentials)", url));
  for (unsigned char c : url)
    if (c <= ' ' || c >= 0x7f)
      return core::fail(core::Category::invalid_input, "unlock.url",
                        fmt::format("'{}' contains a space or non-ASCII character", url));
  return {};
}

core::Result<void> check_luks_uuid(std::string_view uuid) {
  bool ok = uuid.size() == 36;
  for (size_t i = 0; ok && i < uuid.size(); ++i) {
    char c = uuid[i];
    ok = (i == 8 || i == 13 || i == 18 || i == 23) ? c == '-' : std::isxdigit(static_cast<unsigned char>(c)) != 0;
  }
  if (!ok)
    return core::fail(core::Category::invalid_input, "unlock.uuid",
                      fmt::format("'{}' is not a UUID (8-4-4-4-12 hex digits)", uuid));
  return {};
}

core::Result<void> check_mapper_name(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 127 && name != "." && name != "..";
  for (unsigned char c : name) ok = ok && (std::isalnum(c) || c == '_' || c == '-' || c == '.');
  if (!ok)
    return core::fail(core::Category::invalid_input, "unlock.name",
                      fmt::format("'{}' is not a device-mapper name (1-127 of A-Z a-z 0-9 _ - .)", name));
  return {};
}

core::Result<UnlockConfig> parse_unlock_config(std::string_view text, std::string_view origin) {
  UnlockConfig c;
  std::set<std::string> seen;
  size_t line_no = 0;
  bool have_nonce = false, have_api = false;
  for (size_t pos = 0; pos <= text.size();) {
    auto nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string line = core::trim(text.substr(pos, nl - pos));
    pos = nl + 1;
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    if (line.starts_with("export ")) line = core::trim(line.substr(7));
    auto eq = line.find('=');
    if (eq == std::string::npos || eq == 0)
      return std::unexpected(bad(origin, line_no, fmt::format("expected KEY=VALUE, got '{}'", line)));
    std::string key = line.substr(0, eq);
    if (key.find_first_of(" \t") != std::string::npos)
      return std::unexpected(bad(origin, line_no, "no spaces are allowed around '=' (shell syntax)"));
    auto value = unquote(std::string_view(line).substr(eq + 1));
    if (!value) return std::unexpected(bad(origin, line_no, key + ": " + value.error().message));
    if (!seen.insert(key).second)
      return std::unexpected(bad(origin, line_no, key + " is set twice"));
    auto where = [&](const core::Error& e) { return bad(origin, line_no, key + ": " + e.message); };
    if (key == "TDX_NONCE_ENDPOINT" || key == "TDX_API_ENDPOINT") {
      if (auto ok = check_https_url(*value); !ok) return std::unexpected(where(ok.error()));
      (key == "TDX_NONCE_ENDPOINT" ? c.nonce_endpoint : c.api_endpoint) = *value;
      (key == "TDX_NONCE_ENDPOINT" ? have_nonce : have_api) = true;
    } else if (key == "TDX_CA_CERT") {
      if (!value->empty() && value->front() != '/')
        return std::unexpected(bad(origin, line_no, key + ": '" + *value + "' must be an absolute path (or empty for the system store)"));
      c.ca_cert = *value;
    } else if (key == "TDX_RETRY_COUNT") {
      auto n = parse_int(*value, 1, k_max_retries);
      if (!n) return std::unexpected(where(n.error()));
      c.retries = *n;
    } else if (key == "TDX_TIMEOUT") {
      auto n = parse_int(*value, 1, k_max_timeout_s);
      if (!n) return std::unexpected(where(n.error()));
      c.timeout_s = *n;
    } else if (key == "TDX_LUKS_UUID") {
      if (!value->empty())
        if (auto ok = check_luks_uuid(*value); !ok) return std::unexpected(where(ok.error()));
      c.luks_uuid = *value;
    } else if (key == "TDX_LUKS_NAME") {
      if (auto ok = check_mapper_name(*value); !ok) return std::unexpected(where(ok.error()));
      c.luks_name = *value;
    } else if (key == "TDX_INSECURE_SAMPLE_EVIDENCE") {
      if (*value != "0" && *value != "1")
        return std::unexpected(bad(origin, line_no, key + ": '" + *value + "' is not 0 or 1"));
      c.insecure_sample_evidence = *value == "1";
    } else if (key == "TDX_CONTAINERD_DISK") {
      if (!value->empty())
        if (auto ok = check_disk_serial(*value); !ok) return std::unexpected(where(ok.error()));
      c.containerd_disk = *value;
    } else if (key == "TDX_CONTAINERD_NAME") {
      if (auto ok = check_mapper_name(*value); !ok) return std::unexpected(where(ok.error()));
      c.containerd_name = *value;
    } else {
      return std::unexpected(bad(origin, line_no,
                                 fmt::format("unknown key {} (known: TDX_NONCE_ENDPOINT, TDX_API_ENDPOINT, "
                                             "TDX_CA_CERT, TDX_RETRY_COUNT, TDX_TIMEOUT, TDX_LUKS_UUID, "
                                             "TDX_LUKS_NAME, TDX_INSECURE_SAMPLE_EVIDENCE, TDX_CONTAINERD_DISK, "
                                             "TDX_CONTAINERD_NAME)",
                                             key)));
    }
  }
  if (!have_nonce || !have_api)
    return core::fail(core::Category::invalid_input, "unlock.config",
                      fmt::format("{}: {} is required", origin, have_nonce ? "TDX_API_ENDPOINT" : "TDX_NONCE_ENDPOINT"),
                      "see tdxctl-unlock(1), FILES");
  return c;
}

core::Result<UnlockConfig> load_unlock_config(const std::filesystem::path& path) {
  auto text = core::read_file(path);
  if (!text)
    return core::fail(core::Category::invalid_input, "unlock.config_unreadable", text.error().message,
                      "the image build writes /etc/tdxctl/unlock.conf; pass another with --config");
  return parse_unlock_config(*text, path.string());
}

} // namespace tdx::unlock
