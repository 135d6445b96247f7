// inspect and verify through libguestfs (read-only drive, TCG appliance when
// there is no KVM): what tdxctl wrote is read back by a real Linux kernel,
// not by the code that wrote it. The checks mirror the guest's boot-time
// validators (verify-config-volume.sh, verify-cache-volume.sh,
// process-config.py and the initramfs network parser, EXISTING-SCRIPTS §4.4,
// §3.4, §5.2) so a volume that passes here boots.
#include "tdxctl/volume/inspect.hpp"

#include "tdxctl/guestfs/api.hpp"
#include "tdxctl/config/yaml_reader.hpp"
#include "tdxctl/core/disk_image.hpp"
#include "tdxctl/core/ss58.hpp"
#include "tdxctl/guestfs/session.hpp"
#include "tdxctl/volume/config_values.hpp"
#include "tdxctl/volume/config_volume.hpp"
#include "tdxctl/volume/volume_file.hpp"

#include <guestfs.h>
#include <openssl/crypto.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <memory>
#include <ostream>
#include <sstream>

namespace tdx::volume {

namespace fs = std::filesystem;
using core::Category;
using core::Failure;

namespace {

[[noreturn]] void guestfs_fail(guestfs_h* g, const std::string& what) {
  const char* e = guestfs::api().guestfs_last_error(g);
  throw Failure(Category::failed, "volume.guestfs",
                what + ": " + (e ? e : "libguestfs error"),
                "set LIBGUESTFS_BACKEND=direct if libvirt is not usable; run "
                "libguestfs-test-tool to diagnose the appliance");
}

std::string take(char* s) {
  std::string out = s ? s : "";
  std::free(s);
  return out;
}

struct ConfigLayout {
  const char* name;
  unsigned mode;
  bool secret;
};
constexpr ConfigLayout k_layout[] = {{"hostname", 0644, false},
                                     {"miner-ss58", 0600, false},
                                     {"miner-seed", 0600, true},
                                     {"network-config.yaml", 0644, false}};

std::string strip(const std::string& s) { return core::trim(s); }

} // namespace

bool VolumeReport::ok() const {
  for (const auto& c : checks)
    if (!c.ok) return false;
  return true;
}

core::Json VolumeReport::to_json() const {
  core::Json j{{"path", path},
               {"format", format},
               {"virtual_size", virtual_size},
               {"allocated", allocated},
               {"filesystem", {{"type", fs_type}, {"label", label}, {"uuid", uuid}, {"state", fs_state}}}};
  if (!files.empty()) {
    core::Json arr = core::Json::array();
    for (const auto& f : files) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", f.mode & 07777);
      core::Json fj{{"path", f.path}, {"mode", mode}, {"uid", f.uid}, {"gid", f.gid}, {"size", f.size}};
      fj["content"] = f.secret ? "<redacted, " + std::to_string(f.size) + " bytes>"
                               : f.content.value_or("");
      arr.push_back(fj);
    }
    j["files"] = arr;
  }
  if (digest) j["sha384"] = *digest;
  if (recorded_digest) j["recorded_sha384"] = *recorded_digest;
  if (!checks.empty()) {
    core::Json arr = core::Json::array();
    for (const auto& c : checks) arr.push_back({{"id", c.id}, {"ok", c.ok}, {"message", c.message}});
    j["checks"] = arr;
    j["ok"] = ok();
  }
  return j;
}

void VolumeReport::print(std::ostream& out) const {
  out << path << ": " << format << ", " << human_bytes(virtual_size) << " virtual, "
      << human_bytes(allocated) << " allocated\n";
  out << "filesystem: " << (fs_type.empty() ? "none" : fs_type) << ", label '" << label
      << "', UUID " << uuid << (fs_state.empty() ? "" : ", state " + fs_state) << "\n";
  if (!files.empty()) {
    core::Table t({"MODE", "UID:GID", "SIZE", "PATH", "CONTENT"});
    for (const auto& f : files) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", f.mode & 07777);
      std::string content = f.secret ? "<redacted, " + std::to_string(f.size) + " bytes>"
                            : f.path == "/network-config.yaml" ? "(netplan, " + std::to_string(f.size) + " bytes)"
                                                               : strip(f.content.value_or(""));
      t.row({mode, std::to_string(f.uid) + ":" + std::to_string(f.gid), std::to_string(f.size),
             f.path, content});
    }
    t.print(out);
  }
  if (digest) out << "sha384 (content manifest): " << *digest << "\n";
  for (const auto& c : checks) out << (c.ok ? "  ok    " : "  FAIL  ") << c.id << ": " << c.message << "\n";
  if (!checks.empty()) out << (ok() ? "volume is valid\n" : "volume is NOT valid\n");
}

VolumeReport inspect_volume(core::ProcessRunner& probe, const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    throw Failure(Category::invalid_input, "volume.missing", path.string() + ": no such file");
  auto info = core::value_or_throw(core::disk_info(probe, path));
  VolumeReport report;
  report.path = path.string();
  report.format = info.format;
  report.virtual_size = info.virtual_size;
  report.allocated = info.allocated;

  guestfs::Guestfs g;
  g.add_drive(path, true, info.format);
  g.launch();
  const char* dev = "/dev/sda";
  report.fs_type = take(guestfs::api().guestfs_vfs_type(g.get(), dev));
  if (report.fs_type.empty()) return report;
  report.label = take(guestfs::api().guestfs_vfs_label(g.get(), dev));
  report.uuid = take(guestfs::api().guestfs_vfs_uuid(g.get(), dev));
  if (report.fs_type.rfind("ext", 0) == 0) {
    if (char** kv = guestfs::api().guestfs_tune2fs_l(g.get(), dev)) {
      for (size_t i = 0; kv[i] && kv[i + 1]; i += 2)
        if (std::string(kv[i]) == "Filesystem state") report.fs_state = kv[i + 1];
      for (size_t i = 0; kv[i]; ++i) std::free(kv[i]);
      std::free(kv);
    }
  }
  if (report.label != k_config_label) return report;

  if (guestfs::api().guestfs_mount_ro(g.get(), dev, "/") != 0) guestfs_fail(g.get(), "mounting " + path.string());
  guestfs_dirent_list* dirents = guestfs::api().guestfs_readdir(g.get(), "/");
  if (!dirents) guestfs_fail(g.get(), "listing / of " + path.string());
  std::vector<std::string> names;
  for (uint32_t i = 0; i < dirents->len; ++i)
    if (dirents->val[i].ftyp == 'r') names.emplace_back(dirents->val[i].name);
  guestfs::api().guestfs_free_dirent_list(dirents);
  std::sort(names.begin(), names.end());
  // Every file's bytes in locked, wiped memory: one of them is the seed.
  std::vector<core::Secret> contents;
  contents.reserve(names.size());
  for (const auto& name : names) {
    auto p = "/" + name;
    struct guestfs_statns* st = guestfs::api().guestfs_lstatns(g.get(), p.c_str());
    if (!st) guestfs_fail(g.get(), "stat " + p);
    VolumeFileInfo f{p, static_cast<unsigned>(st->st_mode & 07777), st->st_uid, st->st_gid,
                     st->st_size, std::nullopt, name == "miner-seed"};
    guestfs::api().guestfs_free_statns(st);
    size_t size = 0;
    char* data = guestfs::api().guestfs_read_file(g.get(), p.c_str(), &size);
    if (!data) guestfs_fail(g.get(), "reading " + p);
    contents.push_back(core::Secret::concat({std::string_view(data, size)}));
    OPENSSL_cleanse(data, size);
    std::free(data);
    if (f.secret) {
      // Validate the seed while it is in memory; keep only the verdict.
      auto seed = contents.back().reveal();
      while (!seed.empty() && std::isspace(static_cast<unsigned char>(seed.back()))) seed.remove_suffix(1);
      while (!seed.empty() && std::isspace(static_cast<unsigned char>(seed.front()))) seed.remove_prefix(1);
      auto r = check_seed(seed);
      report.seed_problem = r ? "" : r.error().message;
    } else {
      f.content = std::string(contents.back().reveal());
    }
    report.files.push_back(std::move(f));
  }
  std::vector<ManifestEntry> entries;
  for (size_t i = 0; i < names.size(); ++i)
    entries.push_back({names[i], report.files[i].mode, contents[i].reveal()});
  report.digest = sha384_hex(content_manifest(report.label, entries));
  if (auto line = core::read_file(digest_path(path)))
    report.recorded_digest = line->substr(0, line->find_first_of(" \n"));
  return report;
}

namespace {

// The initramfs reads the address as the first line after "addresses:" and
// the gateway from the first "via:" line, by text (EXISTING-SCRIPTS §3.4).
std::string initramfs_field(const std::string& yaml, const std::string& marker, bool next_line) {
  std::istringstream in(yaml);
  std::string line;
  while (std::getline(in, line)) {
    auto pos = line.find(marker);
    if (pos == std::string::npos) continue;
    if (next_line && !std::getline(in, line)) return {};
    auto value = core::trim(next_line ? line : line.substr(pos + marker.size()));
    if (next_line && value.rfind("- ", 0) == 0) value = core::trim(value.substr(2));
    return value;
  }
  return {};
}

void check_netplan(const std::string& text, std::vector<VolumeCheck>& checks) {
  auto add = [&](std::string id, bool ok, std::string msg) {
    checks.push_back({std::move(id), ok, std::move(msg)});
  };
  // A key set twice reads differently in netplan's parser and in this one.
  if (auto dups = config::duplicate_keys(text, "network-config.yaml"); !dups.empty())
    return add("netplan.structure", false, dups.front());
  try {
    auto doc = YAML::Load(text);
    auto net = doc["network"];
    if (!doc.IsMap() || !net || !net.IsMap())
      return add("netplan.structure", false, "no 'network' mapping");
    if (!net["version"] || net["version"].as<std::string>() != "2")
      return add("netplan.structure", false, "network.version is not 2");
    auto eths = net["ethernets"];
    if (!eths || !eths.IsMap() || eths.size() == 0)
      return add("netplan.structure", false, "network.ethernets is not a non-empty mapping");
    for (auto it = eths.begin(); it != eths.end(); ++it) {
      auto iface = it->second;
      bool dhcp = iface.IsMap() && ((iface["dhcp4"] && iface["dhcp4"].as<std::string>() == "true") ||
                                    (iface["dhcp6"] && iface["dhcp6"].as<std::string>() == "true"));
      if (!iface.IsMap() || (!iface["addresses"] && !dhcp))
        return add("netplan.structure", false,
                   "interface '" + it->first.as<std::string>() + "' has no addresses and no dhcp");
    }
    add("netplan.structure", true, "netplan v2 with addresses for every interface");
  } catch (const YAML::Exception& e) {
    return add("netplan.structure", false, std::string("does not parse as YAML: ") + e.what());
  }
  auto address = initramfs_field(text, "addresses:", true);
  auto gateway = initramfs_field(text, "via:", false);
  auto cidr = parse_ipv4_cidr(address);
  auto gw = parse_ipv4(gateway);
  add("netplan.initramfs_layout", cidr && gw,
      cidr && gw ? "the initramfs parser reads address " + address + ", gateway " + gateway
                 : "the initramfs line parser would read address '" + address + "', gateway '" +
                       gateway + "': it needs one IPv4 address with its prefix under addresses: and "
                       "one IPv4 gateway after via:");
}

} // namespace

VolumeReport verify_volume(core::ProcessRunner& probe, const fs::path& path, VerifyKind kind,
                           const std::string& label) {
  auto report = inspect_volume(probe, path);
  auto add = [&](std::string id, bool ok, std::string msg) {
    report.checks.push_back({std::move(id), ok, std::move(msg)});
  };
  add("image.format", report.format == "qcow2" || report.format == "raw",
      "format " + report.format);
  if (kind == VerifyKind::containerd) {
    // The TD formats it itself, and only when it is blank; later it holds LUKS2.
    bool blank = report.fs_type.empty(), luks = report.fs_type == "crypto_LUKS";
    add("fs.type", blank || luks,
        blank  ? "blank (the TD encrypts and formats it on first boot)"
        : luks ? "LUKS (the TD's encrypted volume)"
               : "TYPE=" + report.fs_type + ": the TD refuses a containerd volume that is neither blank nor LUKS");
    return report;
  }
  std::string want = !label.empty() ? label : kind == VerifyKind::config ? k_config_label : "tdx-cache";
  add("fs.type", report.fs_type == "ext4", "TYPE=" + (report.fs_type.empty() ? "none" : report.fs_type));
  add("fs.label", report.label == want, "LABEL=" + report.label + " (the guest mounts LABEL=" + want + ")");
  add("fs.state", report.fs_state == "clean",
      "state '" + report.fs_state + "' (the read-only attachment cannot be repaired at boot)");
  if (kind != VerifyKind::config || report.label != k_config_label) return report;

  auto find = [&](const std::string& name) -> const VolumeFileInfo* {
    for (const auto& f : report.files)
      if (f.path == "/" + name) return &f;
    return nullptr;
  };
  for (const auto& l : k_layout) {
    const auto* f = find(l.name);
    if (!f) {
      add(std::string("file.") + l.name, false, std::string("/") + l.name + " is missing");
      continue;
    }
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", f->mode);
    bool ok = f->mode == l.mode && f->uid == 0 && f->gid == 0;
    add(std::string("file.") + l.name, ok,
        std::string("/") + l.name + " mode " + mode + " owner " + std::to_string(f->uid) + ":" +
            std::to_string(f->gid) + (ok ? "" : " (expected " + std::string(l.mode == 0600 ? "0600" : "0644") + " root:root)"));
  }
  for (const auto& f : report.files) {
    bool known = false;
    for (const auto& l : k_layout) known |= f.path == std::string("/") + l.name;
    if (!known) add("file.unexpected", false, f.path + " is not part of the config volume layout");
  }
  if (const auto* f = find("hostname")) {
    auto r = check_hostname(strip(f->content.value_or("")));
    add("value.hostname", bool(r), r ? "hostname " + *r : "hostname " + r.error().message);
  }
  if (const auto* f = find("miner-ss58")) {
    auto r = core::check_ss58_hotkey(strip(f->content.value_or("")));
    add("value.miner_ss58", bool(r), r ? "SS58 address and checksum valid" : "miner-ss58 " + r.error().message);
  }
  if (find("miner-seed"))
    add("value.miner_seed", report.seed_problem && report.seed_problem->empty(),
        report.seed_problem && report.seed_problem->empty()
            ? "64 hex digits"
            : "miner-seed " + report.seed_problem.value_or("unreadable"));
  if (const auto* f = find("network-config.yaml")) check_netplan(f->content.value_or(""), report.checks);
  if (report.recorded_digest)
    add("digest", report.recorded_digest == report.digest,
        report.recorded_digest == report.digest
            ? "content matches " + digest_path(path).filename().string()
            : "content digest " + report.digest.value_or("") + " differs from " +
                  digest_path(path).filename().string() + " (" + *report.recorded_digest + ")");
  return report;
}

} // namespace tdx::volume
