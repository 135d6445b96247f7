#include "tdxctl/capture/platform.hpp"

#include "tdxctl/core/hex.hpp"
#include "tdxctl/core/json_limits.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

namespace tdx::capture {
namespace {

// 8be4df61-93ca-11d2-aa0d-00e098032b8c, as efivarfs names files NAME-GUID.
constexpr std::string_view kGlobalGuid = "8be4df61-93ca-11d2-aa0d-00e098032b8c";
constexpr size_t kEfivarAttributes = 4;
constexpr size_t kMaxFile = 16u << 20; // far above any ACPI blob or variable

bool safe_fw_cfg_name(std::string_view n) {
  if (n.empty() || n.front() == '/' || n.find("..") != std::string_view::npos) return false;
  for (char c : n)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '-' || c == '_' || c == '.')) return false;
  return true;
}

// A sysfs binary attribute's bytes (their stat size may be 0: read to EOF).
core::Result<std::vector<uint8_t>> read_all(const core::Root& root, const std::string& abs) {
  auto fd = root.open_file(abs, O_RDONLY | O_NOFOLLOW);
  if (!fd) return std::unexpected(fd.error());
  std::vector<uint8_t> out;
  uint8_t buf[65536];
  for (;;) {
    ssize_t n = ::read(*fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(*fd);
      return core::fail(core::Category::failed, "capture.read", fmt::format("{}: {}", abs, std::strerror(e)));
    }
    if (n == 0) break;
    out.insert(out.end(), buf, buf + n);
    if (out.size() > kMaxFile) {
      ::close(*fd);
      return core::fail(core::Category::invalid_input, "capture.read", fmt::format("{}: larger than {} bytes", abs, kMaxFile));
    }
  }
  ::close(*fd);
  return out;
}

core::Result<std::optional<std::vector<uint8_t>>> read_efivar(const core::Root& root, const std::string& name) {
  std::string abs = fmt::format("{}/{}-{}", kEfivars, name, kGlobalGuid);
  if (!root.exists(abs)) return std::optional<std::vector<uint8_t>>{};
  auto bytes = read_all(root, abs);
  if (!bytes) return std::unexpected(bytes.error());
  if (bytes->size() < kEfivarAttributes)
    return core::fail(core::Category::invalid_input, "capture.efivar",
                      fmt::format("{}: {} bytes, shorter than the 4-byte attributes efivarfs puts first", abs,
                                  bytes->size()));
  bytes->erase(bytes->begin(), bytes->begin() + kEfivarAttributes);
  return std::optional<std::vector<uint8_t>>(std::move(*bytes));
}

std::vector<uint8_t> decode(const core::Json& v, std::string_view name, const std::string& key) {
  if (!v.is_string())
    throw core::Failure(core::Category::invalid_input, "capture.platform",
                        fmt::format("{}: {} is not a base64 string", name, key));
  auto b = core::base64_decode(v.get<std::string>(), fmt::format("{}: {}", name, key));
  if (!b) throw core::Failure(b.error());
  return std::vector<uint8_t>(b->begin(), b->end());
}

std::optional<uint16_t> boot_option_number(std::string_view key) {
  if (key.size() != 8 || key.substr(0, 4) != "Boot") return std::nullopt;
  uint16_t n = 0;
  for (char c : key.substr(4)) {
    int d = std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
    if (d < 0) return std::nullopt;
    n = static_cast<uint16_t>(n * 16 + d);
  }
  return n;
}

} // namespace

const std::vector<std::string>& measured_fw_cfg_files() {
  static const std::vector<std::string> files{"etc/acpi/tables",     "etc/acpi/rsdp",
                                              "etc/table-loader",    "etc/extra-pci-roots",
                                              "etc/boot-menu-wait",  "etc/reserved-memory-end",
                                              "opt/ovmf/X-PciMmio64Mb", "bootorder"};
  return files;
}

core::Result<std::vector<uint8_t>> read_fw_cfg(const core::Root& root, std::string_view name) {
  std::string abs = fmt::format("{}/{}/raw", kFwCfgByName, name);
  if (!root.exists(std::string(kFwCfgByName)))
    return core::fail(core::Category::not_ready, "capture.no_fw_cfg",
                      fmt::format("{} does not exist: the qemu_fw_cfg driver is not loaded", kFwCfgByName),
                      "run `modprobe qemu_fw_cfg` in the TD, then capture again");
  return read_all(root, abs);
}

core::Result<std::vector<uint8_t>> read_event_log(const core::Root& root) {
  if (!root.exists(std::string(kCcelData)))
    return core::fail(core::Category::not_ready, "capture.no_event_log",
                      fmt::format("{} does not exist: this kernel shows no CC event log (CCEL table; Linux 6.2+ "
                                  "in a TD booted by TDVF)", kCcelData));
  return read_all(root, std::string(kCcelData));
}

core::Result<Platform> read_platform(const core::Root& root) {
  Platform p;
  for (const auto& name : measured_fw_cfg_files()) {
    std::string abs = fmt::format("{}/{}/raw", kFwCfgByName, name);
    if (name != kAcpiTablesFile && !root.exists(abs)) continue; // optional items
    auto bytes = read_fw_cfg(root, name);
    if (!bytes) return std::unexpected(bytes.error());
    p.fw_cfg[name] = std::move(*bytes);
  }
  auto order = read_efivar(root, "BootOrder");
  if (!order) return std::unexpected(order.error());
  p.boot_order = std::move(*order);
  if (p.boot_order) {
    for (size_t i = 0; i + 1 < p.boot_order->size(); i += 2) {
      uint16_t n = static_cast<uint16_t>((*p.boot_order)[i] | ((*p.boot_order)[i + 1] << 8));
      auto opt = read_efivar(root, fmt::format("Boot{:04X}", n));
      if (!opt) return std::unexpected(opt.error());
      if (*opt) p.boot_options[n] = std::move(**opt);
    }
  }
  return p;
}

core::Json platform_to_json(const Platform& p) {
  core::Json fw = core::Json::object();
  for (const auto& [name, bytes] : p.fw_cfg) fw[name] = core::base64_encode(bytes);
  core::Json vars = core::Json::object();
  if (p.boot_order) vars["BootOrder"] = core::base64_encode(*p.boot_order);
  for (const auto& [n, bytes] : p.boot_options) vars[fmt::format("Boot{:04X}", n)] = core::base64_encode(bytes);
  return core::Json{{"schema", kPlatformSchema}, {"fw_cfg", fw}, {"efivars", vars}};
}

core::Result<Platform> platform_from_json(std::string_view text, std::string_view name) {
  auto doc = core::parse_untrusted_json(text, name);
  if (!doc) return std::unexpected(doc.error());
  auto bad = [&](std::string what) {
    return core::fail(core::Category::invalid_input, "capture.platform", fmt::format("{}: {}", name, what),
                      "capture it again with `tdxctl-guest measure platform`");
  };
  if (!doc->is_object() || doc->value("schema", "") != kPlatformSchema)
    return bad(fmt::format("not a {} document (its \"schema\" differs)", kPlatformSchema));
  try {
    Platform p;
    if (doc->contains("fw_cfg")) {
      const auto& fw = (*doc)["fw_cfg"];
      if (!fw.is_object()) return bad("\"fw_cfg\" is not an object");
      for (const auto& [k, v] : fw.items()) {
        if (!safe_fw_cfg_name(k)) return bad(fmt::format("fw_cfg name '{}' is not a fw_cfg file name", k));
        p.fw_cfg[k] = decode(v, name, "fw_cfg." + k);
      }
    }
    if (doc->contains("efivars")) {
      const auto& vars = (*doc)["efivars"];
      if (!vars.is_object()) return bad("\"efivars\" is not an object");
      for (const auto& [k, v] : vars.items()) {
        if (k == "BootOrder") p.boot_order = decode(v, name, "efivars.BootOrder");
        else if (auto n = boot_option_number(k)) p.boot_options[*n] = decode(v, name, "efivars." + k);
        else return bad(fmt::format("efivars key '{}': expected BootOrder or Boot#### (4 upper-case hex digits)", k));
      }
    }
    for (const auto& [k, v] : doc->items())
      if (k != "schema" && k != "fw_cfg" && k != "efivars") return bad(fmt::format("unknown key \"{}\"", k));
    return p;
  } catch (const core::Failure& f) {
    return std::unexpected(f.error());
  }
}

} // namespace tdx::capture
