// image.yaml parsing. Validation happens here, once, with the YamlReader's
// file:line:col + dotted-key errors, so the pipeline can assume a sound
// config and an operator sees every mistake in one run. Defaults keep the
// guest contracts of the scripts tdxctl replaces: the three volume labels
// and mount points, and hardening switched on.
#include "tdxctl/image/image_config.hpp"
#include "tdxctl/core/units.hpp"

#include "tdxctl/config/yaml_reader.hpp"
#include "tdxctl/core/fs.hpp"
#include "tdxctl/measure/predict_files.hpp"
#include "tdxctl/unlock/containerd_volume.hpp"
#include "tdxctl/unlock/unlock_config.hpp"

#include <algorithm>
#include <cctype>
#include <regex>

namespace tdx::image {

namespace {

// No exception for a name the kernel refuses (too long, a bad component):
// that is "not a file" too, and the reader reports it with the key.
bool is_file(const std::filesystem::path& p) {
  std::error_code ec;
  return std::filesystem::is_regular_file(p, ec);
}

// Compiled on first use, not at start-up, where every command (--help,
// quote verify) would pay for image.yaml's patterns.
struct Patterns {
  std::regex uuid{"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"};
  std::regex sha256{"^[0-9a-f]{64}$"};
  std::regex unit{"^[A-Za-z0-9@._:-]+\\.(service|socket|timer|target|mount|path)$"};
  std::regex user{"^[a-z_][a-z0-9_-]*$"};
  std::regex owner{"^[a-z_][a-z0-9_-]*:[a-z_][a-z0-9_-]*$"};
  std::regex label{"^[A-Za-z0-9_-]{1,16}$"};
};
const Patterns& patterns() {
  static const Patterns p;
  return p;
}

std::filesystem::path relative_to(const std::filesystem::path& yaml, const std::string& p) {
  std::filesystem::path path(p);
  return path.is_absolute() ? path : yaml.parent_path() / path;
}

} // namespace

core::Json MeasureShape::to_json() const {
  return core::Json{{"firmware", firmware.string()},
                    {"memory_gib", memory_gib},
                    {"platform", platform.string()},
                    {"acpi_tables", acpi_tables.string()}};
}

core::Json ImageConfig::to_json() const {
  core::Json files_json = core::Json::array();
  for (auto& f : files)
    files_json.push_back({{"source", f.source.string()}, {"dest", f.dest}, {"owner", f.owner},
                          {"mode", f.mode}});
  core::Json vols = core::Json::array();
  for (auto& v : volumes) {
    vols.push_back({{"label", v.label}, {"mount", v.mount}});
    if (v.encrypted) vols.back().update({{"encrypted", true}, {"disk", v.disk}});
  }
  core::Json debs_json = core::Json::array();
  for (auto& d : debs) debs_json.push_back(d.string());
  return {{"base", base.string()},
          {"base_sha256", base_sha256},
          {"output", output.string()},
          {"root_size", root_size},
          {"compress", compress},
          {"hostname", hostname},
          {"kernel_cmdline", kernel_cmdline},
          {"luks_uuid", luks_uuid ? core::Json(*luks_uuid) : core::Json()},
          {"root_fs_uuid", root_fs_uuid ? core::Json(*root_fs_uuid) : core::Json()},
          {"luks_label", luks_label},
          {"files", files_json},
          {"commands", commands},
          {"debs", debs_json},
          {"enable_units", enable_units},
          {"disable_units", disable_units},
          {"lock_users", lock_users},
          {"customize_network", customise_network},
          {"source_date_epoch", source_date_epoch ? core::Json(*source_date_epoch) : core::Json()},
          {"hardening",
           {{"disable_cloud_init", disable_cloud_init},
            {"disable_getty", disable_getty},
            {"disable_ssh_password", disable_ssh_password},
            {"module_sig_enforce", module_sig_enforce}}},
          {"volumes", vols},
          {"measure", measure ? measure->to_json() : core::Json()},
          {"unlock",
           {{"nonce_endpoint", unlock.nonce_endpoint},
            {"attestation_endpoint", unlock.attestation_endpoint},
            {"ca_cert", unlock.ca_cert.string()},
            {"trust_system_cas", unlock.trust_system_cas},
            {"retries", unlock.retries},
            {"timeout_s", unlock.timeout_s},
            {"insecure_sample_evidence", unlock.insecure_sample_evidence}}}};
}

namespace {

using Path = std::filesystem::path;

void read_base(config::Section& root, const Path& name, ImageConfig& c) {
  auto base = root.section("base");
  base.allow_only({"path", "sha256"});
  if (!base.present()) root.error("", "missing key 'base' (the base image: path and sha256)");
  if (auto p = base.str("path")) c.base = relative_to(name, *p);
  else if (base.present()) base.error("", "missing key 'path'");
  if (auto s = base.str("sha256")) {
    std::string lower = *s;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    if (!std::regex_match(lower, patterns().sha256)) base.error("sha256", "expected 64 hex digits");
    c.base_sha256 = lower;
  } else if (base.present()) base.error("", "missing key 'sha256' (pin the base image)");
}

// The top-level values: output, sizes, timestamps, hostname, command line.
void read_top_level(config::Section& root, const Path& name, ImageConfig& c) {
  if (auto o = root.str("output")) {
    c.output = relative_to(name, *o);
    if (c.output.extension() != ".qcow2") root.error("output", "expected a path ending in .qcow2");
  }
  if (auto s = root.str("root_size")) {
    auto v = core::parse_size(*s);
    if (!v || *v < (64ull << 20)) root.error("root_size", "expected a size of at least 64M like 2G or 4096M");
    else c.root_size = (*v + 4095) & ~uint64_t{4095};
  }
  if (auto b = root.boolean("compress")) c.compress = *b;
  if (auto e = root.str("source_date_epoch")) {
    if (!std::regex_match(*e, std::regex("^[0-9]{1,11}$")) || std::stoll(*e) > 253402300799)
      root.error("source_date_epoch", "expected seconds since 1970 (an integer up to 253402300799)");
    else c.source_date_epoch = std::stoll(*e);
  }
  if (auto h = root.str("hostname")) {
    if (!std::regex_match(*h, std::regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")))
      root.error("hostname", "expected a hostname label (a-z, 0-9, -)");
    c.hostname = *h;
  }
  if (auto k = root.str("kernel_cmdline")) {
    if (k->find_first_of("\"\n'") != std::string::npos)
      root.error("kernel_cmdline", "quotes and newlines are not allowed");
    c.kernel_cmdline = *k;
  }
}

void read_luks_and_root_uuid(config::Section& root, ImageConfig& c) {
  auto luks = root.section("luks");
  luks.allow_only({"uuid", "label"});
  if (auto u = luks.str("uuid")) {
    if (!std::regex_match(*u, patterns().uuid)) luks.error("uuid", "expected a lowercase UUID");
    c.luks_uuid = *u;
  }
  if (auto l = luks.str("label")) {
    if (!std::regex_match(*l, patterns().label)) luks.error("label", "expected 1-16 of A-Z a-z 0-9 _ -");
    c.luks_label = *l;
  }
  if (auto u = root.str("root_fs_uuid")) {
    if (!std::regex_match(*u, patterns().uuid)) root.error("root_fs_uuid", "expected a lowercase UUID");
    c.root_fs_uuid = *u;
  }
}

FileCopy read_file_copy(config::Section& f, const Path& name) {
  f.allow_only({"src", "dest", "owner", "mode"});
  FileCopy copy;
  auto src = f.str("src"), dest = f.str("dest");
  if (!src) f.error("", "missing key 'src'");
  else {
    copy.source = relative_to(name, *src);
    if (!is_file(copy.source))
      f.error("src", "no such file: " + copy.source.string());
  }
  if (!dest) f.error("", "missing key 'dest'");
  else if (dest->empty() || dest->front() != '/' || dest->find("..") != std::string::npos)
    f.error("dest", "expected an absolute guest path without '..'");
  else copy.dest = *dest;
  if (auto o = f.str("owner")) {
    if (!std::regex_match(*o, patterns().owner)) f.error("owner", "expected user:group");
    copy.owner = *o;
  }
  if (auto m = f.str("mode")) {
    if (auto mode = parse_file_mode(*m)) copy.mode = *mode;
    else f.error("mode", "expected an octal mode like 0644, got '" + *m + "'");
  }
  return copy;
}

void read_customize(config::Section& root, const Path& name, ImageConfig& c) {
  auto cust = root.section("customize");
  cust.allow_only({"files", "commands", "debs", "enable_units", "disable_units", "lock_users", "network"});
  if (auto b = cust.boolean("network")) c.customise_network = *b;
  for (auto& f : cust.sections("files")) c.files.push_back(read_file_copy(f, name));
  if (auto cmds = cust.strings("commands")) c.commands = *cmds;
  if (auto debs = cust.strings("debs"))
    for (size_t i = 0; i < debs->size(); ++i) {
      auto p = relative_to(name, (*debs)[i]);
      if (p.extension() != ".deb" || !is_file(p))
        cust.error("debs", "entry " + std::to_string(i) + ": no such .deb file: " + p.string());
      c.debs.push_back(p);
    }
  auto units = [&](const char* key, std::vector<std::string>& into) {
    if (auto list = cust.strings(key))
      for (auto& u : *list) {
        if (!std::regex_match(u, patterns().unit))
          cust.error(key, "'" + u + "' is not a systemd unit name (name.service, .timer, ...)");
        into.push_back(u);
      }
  };
  units("enable_units", c.enable_units);
  units("disable_units", c.disable_units);
  if (auto users = cust.strings("lock_users"))
    for (auto& u : *users) {
      if (!std::regex_match(u, patterns().user)) cust.error("lock_users", "'" + u + "' is not a user name");
      c.lock_users.push_back(u);
    }
}

void read_hardening(config::Section& root, ImageConfig& c) {
  auto hard = root.section("hardening");
  hard.allow_only({"disable_cloud_init", "disable_getty", "disable_ssh_password", "module_sig_enforce"});
  if (auto b = hard.boolean("disable_cloud_init")) c.disable_cloud_init = *b;
  if (auto b = hard.boolean("disable_getty")) c.disable_getty = *b;
  if (auto b = hard.boolean("disable_ssh_password")) c.disable_ssh_password = *b;
  if (auto b = hard.boolean("module_sig_enforce")) c.module_sig_enforce = *b;
}

VolumeMount read_volume(config::Section& v, const std::vector<VolumeMount>& earlier) {
  v.allow_only({"label", "mount", "encrypted", "disk"});
  VolumeMount m;
  auto label = v.str("label"), mount = v.str("mount");
  if (!label || !std::regex_match(*label, patterns().label))
    v.error(label ? "label" : "", "expected key 'label' of 1-16 of A-Z a-z 0-9 _ -");
  else m.label = *label;
  if (!mount || mount->empty() || mount->front() != '/')
    v.error(mount ? "mount" : "", "expected key 'mount' with an absolute path");
  else m.mount = *mount;
  if (auto e = v.boolean("encrypted")) m.encrypted = *e;
  auto disk = v.str("disk");
  if (m.encrypted && !disk)
    v.error("", "an encrypted volume needs key 'disk': the serial the host gives it (td-containerd)");
  else if (disk && !m.encrypted)
    v.error("disk", "only an encrypted volume is found by its disk serial; add 'encrypted: true'");
  else if (disk) {
    if (auto ok = unlock::check_disk_serial(*disk); !ok) v.error("disk", ok.error().message);
    else m.disk = *disk;
  }
  if (m.encrypted && std::any_of(earlier.begin(), earlier.end(), [](auto& o) { return o.encrypted; }))
    v.error("encrypted", "only one volume can be encrypted (the key service releases one containerd key)");
  return m;
}

// Without volumes: the three the guest contracts of the replaced scripts name.
void read_volumes(config::Section& root, ImageConfig& c) {
  if (!root.has("volumes")) {
    c.volumes = {{"tdx-config", "/var/config", "", false},
                 {"tdx-cache", "/var/snap", "", false},
                 {"containerd-cache", "/var/lib/rancher/k3s/agent/containerd", "td-containerd", true}};
    return;
  }
  for (auto& v : root.sections("volumes")) c.volumes.push_back(read_volume(v, c.volumes));
}

void read_unlock(config::Section& root, const Path& name, ImageConfig& c) {
  auto unlock = root.section("unlock");
  unlock.allow_only({"nonce_endpoint", "attestation_endpoint", "ca_cert", "trust_system_cas",
                     "retries", "timeout_s", "insecure_sample_evidence"});
  if (!unlock.present()) root.error("", "missing key 'unlock' (the key release endpoints)");
  for (auto [key, into] : {std::pair{"nonce_endpoint", &c.unlock.nonce_endpoint},
                           std::pair{"attestation_endpoint", &c.unlock.attestation_endpoint}}) {
    if (auto u = unlock.str(key)) {
      // The guest's own URL rule (tdxctl-guest refuses anything else at boot).
      if (auto ok = unlock::check_https_url(*u); !ok) unlock.error(key, ok.error().message);
      *into = *u;
    } else if (unlock.present()) {
      unlock.error("", std::string("missing key '") + key + "'");
    }
  }
  if (auto ca = unlock.str("ca_cert")) {
    c.unlock.ca_cert = relative_to(name, *ca);
    if (!is_file(c.unlock.ca_cert))
      unlock.error("ca_cert", "no such file: " + c.unlock.ca_cert.string());
  }
  // Without a pinned CA the initramfs would accept any public CA's
  // certificate for the key service: that must be a visible, written choice.
  if (auto b = unlock.boolean("trust_system_cas")) c.unlock.trust_system_cas = *b;
  if (unlock.present() && !unlock.has("ca_cert") && !c.unlock.trust_system_cas)
    unlock.error("", "missing key 'ca_cert' (the PEM CA that signed the key service's certificate); "
                     "to trust every public CA instead, set trust_system_cas: true");
  if (unlock.has("ca_cert") && c.unlock.trust_system_cas)
    unlock.error("trust_system_cas", "contradicts ca_cert: with a pinned CA the system CAs are not "
                                     "trusted; remove one of the two");
  if (auto r = unlock.integer("retries", 1, 100)) c.unlock.retries = static_cast<int>(*r);
  if (auto t = unlock.integer("timeout_s", 1, 3600)) c.unlock.timeout_s = static_cast<int>(*t);
  if (auto b = unlock.boolean("insecure_sample_evidence")) c.unlock.insecure_sample_evidence = *b;
}

void read_measure(config::Section& root, const Path& name, ImageConfig& c) {
  auto measure = root.section("measure");
  if (!measure.present()) return;
  measure.allow_only({"firmware", "memory_gib", "platform", "acpi_tables"});
  MeasureShape m;
  auto file = [&](const char* key, Path& into) {
    if (auto p = measure.str(key)) {
      into = relative_to(name, *p);
      if (!is_file(into)) measure.error(key, "no such file: " + into.string());
    }
  };
  file("firmware", m.firmware);
  file("platform", m.platform);
  file("acpi_tables", m.acpi_tables);
  if (!measure.has("firmware")) measure.error("", "missing key 'firmware' (the TDVF the TD boots)");
  if (auto g = measure.integer("memory_gib", 1, 8192)) m.memory_gib = static_cast<int>(*g);
  else if (!measure.has("memory_gib")) measure.error("", "missing key 'memory_gib' (as td.memory_gib in host.yaml)");
  measure::check_one_rtmr0_capture(measure);
  c.measure = m;
}

} // namespace

std::optional<int> parse_file_mode(const std::string& text) {
  try {
    size_t used = 0;
    int mode = std::stoi(text, &used, 8);
    if (used != text.size() || mode < 0 || mode > 07777) return std::nullopt;
    return mode;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

ImageConfig parse_image_config(std::string_view text, const std::filesystem::path& name) {
  auto reader = config::YamlReader::parse(text, name.string());
  auto root = reader.root();
  ImageConfig c;
  c.source = name;
  root.allow_only({"base", "output", "root_size", "compress", "hostname", "kernel_cmdline", "luks",
                   "root_fs_uuid", "customize", "hardening", "volumes", "unlock",
                   "source_date_epoch", "measure"});
  read_base(root, name, c);
  read_top_level(root, name, c);
  read_luks_and_root_uuid(root, c);
  read_customize(root, name, c);
  read_hardening(root, c);
  read_volumes(root, c);
  read_unlock(root, name, c);
  read_measure(root, name, c);
  reader.check();
  return c;
}

ImageConfig load_image_config(const std::filesystem::path& path) {
  auto text = core::read_file(path);
  if (!text)
    throw core::Failure(core::Category::invalid_input, "image.config.unreadable",
                        text.error().message, "pass image.yaml with -c/--config");
  return parse_image_config(*text, path);
}

} // namespace tdx::image
