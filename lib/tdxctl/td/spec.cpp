// The `td:` section of host.yaml as a TdSpec, and the passthrough device list.
// Every key is validated where it is read (YamlReader collects all errors with
// file:line:col), so a typo never silently falls back to a default that would
// change the TD's measured hardware. Device order is GPUs then NVSwitches,
// each sorted by address, because the PCIe topology (and RTMR0) follows it.
#include "tdxctl/td/spec.hpp"

#include "tdxctl/config/host_yaml.hpp"
#include "tdxctl/config/yaml_reader.hpp"
#include "tdxctl/core/fs.hpp"
#include "tdxctl/core/hex.hpp"
#include "tdxctl/host/qgs_address.hpp"
#include "tdxctl/measure/predict_files.hpp"
#include "tdxctl/net/network_spec.hpp"
#include "tdxctl/sysfs/pci.hpp"

#include <algorithm>
#include <regex>

namespace tdx::td {

using core::Category;
using core::fail;

const char* boot_mode_name(BootMode mode) {
  return mode == BootMode::firmware ? "firmware" : "direct";
}

std::optional<BootMode> parse_boot_mode(std::string_view text) {
  if (text == "direct") return BootMode::direct;
  if (text == "firmware") return BootMode::firmware;
  return std::nullopt;
}

core::Result<std::string> parse_measurement(const std::string& text, const std::string& what) {
  if (text.size() == 96) {
    auto bytes = core::from_hex(text, what);
    if (!bytes) return std::unexpected(bytes.error());
    return core::base64_encode(*bytes);
  }
  auto bytes = core::base64_decode(text, what);
  if (!bytes) return std::unexpected(bytes.error());
  if (bytes->size() != 48)
    return fail(Category::invalid_input, "td.measurement_size",
                what + ": expected 48 bytes (96 hex digits or 64 base64 characters), got " +
                    std::to_string(bytes->size()) + " bytes");
  return core::base64_encode(*bytes);
}

std::filesystem::path manifest_path(const std::string& config_volume) {
  return config_volume + ".sha384";
}

core::Result<std::string> read_manifest_digest_hex(const std::string& config_volume) {
  auto path = manifest_path(config_volume);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    return fail(Category::not_ready, "td.manifest_missing",
                "config volume manifest " + path.string() + " does not exist",
                "create the config volume with `tdxctl volume` (it writes the manifest), or "
                "pass --mr-config-id");
  auto text = core::read_file(path);
  if (!text) return std::unexpected(text.error());
  // sha384sum format: 96 hex digits, two spaces (or " *"), the file name.
  static const std::regex line(R"(^([0-9a-fA-F]{96}) [ *]\S.*\n?$)");
  std::smatch m;
  if (!std::regex_match(*text, m, line))
    return fail(Category::invalid_input, "td.manifest_format",
                path.string() + ":1: expected sha384sum format '<96 hex digits>  <file name>'");
  std::string hex = m[1];
  std::transform(hex.begin(), hex.end(), hex.begin(), ::tolower);
  return hex;
}

static void read_measurement(config::Section& td, std::string_view key,
                             std::optional<std::string>& out) {
  auto s = td.str(key);
  if (!s) return;
  auto b64 = parse_measurement(*s, std::string(key));
  if (!b64) td.error(key, b64.error().message);
  else out = *b64;
}

bool valid_domain_name(std::string_view name) {
  static const std::regex name_re(R"([A-Za-z0-9][A-Za-z0-9_.-]{0,62})");
  return std::regex_match(name.begin(), name.end(), name_re);
}

static bool valid_mac(const std::string& mac) {
  static const std::regex mac_re(R"([0-9a-f]{2}(:[0-9a-f]{2}){5})");
  return std::regex_match(mac, mac_re);
}

void read_td_section(config::Section& td, TdSpec& spec, bool network_from_top) {
  td.allow_only(config::host_keys::td);
  if (auto v = td.str("name")) {
    if (valid_domain_name(*v)) spec.name = *v;
    else td.error("name", std::string(domain_name_rule) + ", got '" + *v + "'");
  }
  if (auto v = td.integer("vcpus", 1, 512)) spec.vcpus = static_cast<int>(*v);
  if (auto v = td.integer("memory_gib", 1, 8192)) spec.memory_gib = static_cast<int>(*v);
  if (auto v = td.str("image")) spec.image = *v;
  if (auto v = td.str("config_volume")) spec.config_volume = *v;
  if (auto v = td.str("cache_volume")) spec.cache_volume = *v;
  if (auto v = td.str("containerd_volume")) spec.containerd_volume = *v;
  if (auto v = td.strings("gpus")) spec.gpus = *v;
  if (auto v = td.strings("nvswitches")) spec.nvswitches = *v;
  if (auto v = td.str("firmware")) spec.firmware = *v;
  if (auto v = td.str("boot")) {
    if (auto mode = parse_boot_mode(*v)) spec.boot = *mode;
    else td.error("boot", "expected direct (kernel, initrd and command line from the image's manifest) or "
                          "firmware (the image's own bootloader), got '" + *v + "'");
  }
  if (auto v = td.str("qgs_socket")) {
    if (*v == "none") spec.qgs_socket.clear();
    else if (auto path = host::parse_qgs_address(*v, "td.qgs_socket")) spec.qgs_socket = *path;
    else td.error("qgs_socket", path.error().message + " (or none)");
  }
  read_measurement(td, "mr_config_id", spec.mr_config_id);
  read_measurement(td, "mr_owner", spec.mr_owner);
  read_measurement(td, "mr_owner_config", spec.mr_owner_config);
  if (auto v = td.integer("vsock_cid", 3, 0xfffffffe)) spec.vsock_cid = static_cast<int>(*v);
  if (auto v = td.integer("gpu_mmio_gib", 1, 4096)) spec.gpu_mmio_gib = static_cast<int>(*v);
  if (auto v = td.boolean("debug")) spec.debug = *v;
  if (auto v = td.boolean("no_tdx")) spec.no_tdx = *v;
  if (auto measure = td.section("measure"); measure.present()) {
    measure.allow_only(config::host_keys::td_measure);
    if (auto v = measure.str("platform")) spec.measure_platform = *v;
    if (auto v = measure.str("acpi_tables")) spec.measure_acpi_tables = *v;
    measure::check_one_rtmr0_capture(measure);
  }

  for (const char* key : {"gpus", "nvswitches"}) {
    auto& list = std::string_view(key) == "gpus" ? spec.gpus : spec.nvswitches;
    for (auto& entry : list) {
      if (entry == "all-bound" && list.size() == 1 && std::string_view(key) == "gpus") continue;
      if (auto full = sysfs::normalize_pci_address(entry)) entry = *full;
      else td.error(key, "expected PCI addresses like 0000:3b:00.0" +
                             std::string(std::string_view(key) == "gpus" ? " or 'all-bound'" : "") +
                             ", got '" + entry + "'");
    }
  }

  auto net = td.section("network");
  if (!net.present()) return;
  if (network_from_top) {
    // One source of truth for the NIC: the section `net up` builds from.
    net.allow_only(config::host_keys::td_network_with_top);
  } else {
    net.allow_only(config::host_keys::td_network);
    auto bridge = net.str("bridge");
    auto macvtap = net.str("macvtap");
    if (bridge && macvtap) net.error("macvtap", "give either 'bridge' or 'macvtap', not both");
    else if (bridge) spec.net = {net::Mode::bridge, *bridge, spec.net.mac};
    else if (macvtap) spec.net = {net::Mode::macvtap, *macvtap, spec.net.mac};
  }
  if (auto mac = net.str("mac")) {
    if (valid_mac(*mac)) spec.net.mac = *mac;
    else net.error("mac", "expected a lower-case MAC address like 52:54:00:12:34:56, got '" +
                              *mac + "'");
  }
}

void make_paths_absolute(TdSpec& spec, const std::filesystem::path& base_dir) {
  for (auto* p : {&spec.image, &spec.config_volume, &spec.cache_volume, &spec.containerd_volume, &spec.firmware,
                  &spec.measure_platform, &spec.measure_acpi_tables})
    *p = config::absolute_path(*p, base_dir);
}

void attach_to_network(TdSpec& spec, const net::NetRequest& network) {
  if (network.mode == net::Mode::bridge) spec.net = {net::Mode::bridge, network.bridge, spec.net.mac};
  else spec.net = {net::Mode::macvtap, network.public_interface, spec.net.mac};
}

TdSpec make_spec(const SpecOverrides& o, TdSpec spec) {
  auto bad = [](const std::string& msg) {
    throw core::Failure(Category::invalid_input, "td.bad_flag", msg);
  };
  auto measurement = [&](const std::string& flag, const std::string& value,
                         std::optional<std::string>& out) {
    if (value.empty()) return;
    auto b64 = parse_measurement(value, flag);
    if (!b64) bad(b64.error().message);
    out = *b64;
  };
  if (!o.name.empty()) {
    if (!valid_domain_name(o.name)) bad("--name: " + std::string(domain_name_rule) + ", got '" + o.name + "'");
    spec.name = o.name;
  }
  // A path flag names a file relative to where tdxctl runs.
  if (!o.image.empty()) spec.image = config::absolute_path(o.image);
  if (!o.config_volume.empty()) spec.config_volume = config::absolute_path(o.config_volume);
  if (!o.cache_volume.empty()) spec.cache_volume = config::absolute_path(o.cache_volume);
  if (!o.containerd_volume.empty()) spec.containerd_volume = config::absolute_path(o.containerd_volume);
  if (!o.firmware.empty()) spec.firmware = config::absolute_path(o.firmware);
  if (!o.boot.empty()) {
    if (auto mode = parse_boot_mode(o.boot)) spec.boot = *mode;
    else bad("--boot: expected direct or firmware, got '" + o.boot + "'");
  }
  if (!o.gpus.empty()) spec.gpus = o.gpus;
  if (!o.nvswitches.empty()) spec.nvswitches = o.nvswitches;
  if (!o.bridge.empty() && !o.macvtap.empty()) bad("--bridge and --macvtap exclude each other");
  if (!o.bridge.empty()) spec.net = {net::Mode::bridge, o.bridge, spec.net.mac};
  if (!o.macvtap.empty()) spec.net = {net::Mode::macvtap, o.macvtap, spec.net.mac};
  if (!o.mac.empty()) {
    if (!valid_mac(o.mac))
      bad("--mac: expected a lower-case MAC address like 52:54:00:12:34:56, got '" + o.mac + "'");
    spec.net.mac = o.mac;
  }
  if (!o.qgs_socket.empty()) {
    auto path = host::parse_qgs_address(o.qgs_socket, "--qgs-socket");
    if (!path) throw core::Failure(path.error());
    spec.qgs_socket = *path;
  }
  if (o.no_qgs) spec.qgs_socket.clear();
  measurement("--mr-config-id", o.mr_config_id, spec.mr_config_id);
  measurement("--mr-owner", o.mr_owner, spec.mr_owner);
  measurement("--mr-owner-config", o.mr_owner_config, spec.mr_owner_config);
  if (o.vcpus) spec.vcpus = o.vcpus;
  if (o.memory_gib) spec.memory_gib = o.memory_gib;
  if (o.vsock_cid) {
    if (o.vsock_cid < 3) bad("--vsock-cid: CIDs 0-2 are reserved (2 is the host), got " +
                             std::to_string(o.vsock_cid));
    spec.vsock_cid = o.vsock_cid;
  }
  if (o.debug) spec.debug = true;
  if (o.no_tdx) spec.no_tdx = true;
  if (spec.no_tdx && spec.debug) bad("--debug applies to TDs; a --no-tdx VM has no TDX attributes");
  return spec;
}

static bool is_nvidia_gpu(const sysfs::PciDevice& d) {
  return d.vendor == 0x10de && (d.class_prefix() == 0x0300 || d.class_prefix() == 0x0302);
}
static bool is_nvswitch(const sysfs::PciDevice& d) {
  return d.vendor == 0x10de && d.class_prefix() == 0x0680;
}

core::Result<std::vector<PassthroughDevice>> resolve_devices(const core::Root& root,
                                                            const TdSpec& spec) {
  std::vector<std::string> gpus, switches;
  bool all_bound = spec.gpus.size() == 1 && spec.gpus[0] == "all-bound";
  if (all_bound) {
    for (const auto& d : sysfs::scan_pci(root)) {
      if (d.driver != "vfio-pci") continue;
      if (is_nvidia_gpu(d)) gpus.push_back(d.address);
      else if (is_nvswitch(d)) switches.push_back(d.address);
    }
  } else {
    for (const auto& g : spec.gpus) {
      auto full = sysfs::normalize_pci_address(g);
      if (!full)
        return fail(Category::invalid_input, "td.bad_pci_address",
                    "GPU '" + g + "': expected a PCI address like 0000:3b:00.0 or 'all-bound'");
      gpus.push_back(*full);
    }
  }
  for (const auto& s : spec.nvswitches) {
    auto full = sysfs::normalize_pci_address(s);
    if (!full)
      return fail(Category::invalid_input, "td.bad_pci_address",
                  "NVSwitch '" + s + "': expected a PCI address like 0000:3b:00.0");
    if (std::find(switches.begin(), switches.end(), *full) == switches.end())
      switches.push_back(*full);
  }
  std::sort(gpus.begin(), gpus.end());
  std::sort(switches.begin(), switches.end());
  std::vector<PassthroughDevice> out;
  for (const auto& g : gpus) {
    if (std::find_if(out.begin(), out.end(), [&](auto& d) { return d.address == g; }) != out.end())
      return fail(Category::invalid_input, "td.duplicate_device", "GPU " + g + " is listed twice");
    out.push_back({g, false});
  }
  for (const auto& s : switches) {
    if (std::find_if(out.begin(), out.end(), [&](auto& d) { return d.address == s; }) != out.end())
      return fail(Category::invalid_input, "td.duplicate_device",
                  s + " is listed both as a GPU and as an NVSwitch");
    out.push_back({s, true});
  }
  return out;
}

} // namespace tdx::td
