// The image build pipeline. Stages, each a Step of one Plan (so --dry-run
// shows them and a re-run with the same inputs is "nothing to do"):
//   image.build_dir  a private work directory (mkdtemp, 0700) beside the output:
//                    every intermediate lives there, created O_EXCL|O_NOFOLLOW,
//                    and it goes with the build (on a signal or crash too)
//   base.convert     copy the base into it, hashing the bytes copied against
//                    base.sha256, then qemu-img: that copy -> raw
//   base.inspect     libguestfs inspection: root, /boot, ESP and their extents
//   parts.extract    copy the root and /boot filesystems out to their own files
//   root.unpack      libext2fs unpacks the root and /boot into private trees
//   root.customise   the tree customised natively in private namespaces:
//                    files, debs, commands, units, hardening, templates,
//                    cmdline, initramfs (boot.measure predicts MRTD/RTMRs)
//   disk.layout      GPT (sfdisk) with ESP, /boot and the LUKS2 root; the
//                    ESP copied in
//   root.mkfs        mke2fs -d writes the root and /boot straight into their
//                    partitions (the root 16 MiB in: the LUKS2 data area)
//   root.encrypt     LUKS2 header by libcryptsetup, the data area encrypted
//                    in place by OpenSSL XTS, then the header put in front
//   image.write      qemu-img -> qcow2, then key, manifest and image are
//                    renamed into place (never a half-written final name)
// UUIDs and the kernel command line are fixed by the config or derived from
// the inputs digest, so rebuilding the same inputs gives the same RTMR2.
#include "tdxctl/image/build.hpp"

#include "tdxctl/core/build_info.hpp"
#include "tdxctl/core/digest.hpp"
#include "tdxctl/core/hex.hpp"
#include "tdxctl/core/random.hpp"
#include "tdxctl/core/secret.hpp"
#include "tdxctl/core/templates.hpp"
#include "tdxctl/core/unique_fd.hpp"
#include "tdxctl/image/build_namespace.hpp"
#include "tdxctl/image/customise.hpp"
#include "tdxctl/image/ext4_mkfs.hpp"
#include "tdxctl/image/ext4_unpack.hpp"
#include "tdxctl/image/guest_binary.hpp"
#include "tdxctl/guestfs/api.hpp"
#include "tdxctl/guestfs/session.hpp"
#include "tdxctl/image/templates.hpp"
#include "tdxctl/image/unit_names.hpp"
#include "tdxctl/image/unlock_conf.hpp"
#include "tdxctl/measure/predict_files.hpp"
#include "tdxctl/measure/report.hpp"

#include <guestfs.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace tdx::image {

using guestfs::Guestfs;
using guestfs::take_strings;

namespace fs = std::filesystem;
using core::Category;
using core::Failure;
using core::Json;

namespace {

constexpr const char* esp_type = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";
constexpr const char* xbootldr_type = "BC13C2FF-59E6-4262-A352-B275FD6F7172";
constexpr const char* linux_data_type = "0FC63DAF-8483-4772-8E79-3D69D8477DE4";
constexpr uint64_t mib = 1ull << 20;

struct Extent {
  std::string device;
  uint64_t start = 0, size = 0;
};

} // namespace

struct BuildState {
  BuildRequest request;
  core::ProcessRunner* runner = nullptr;
  core::ProgressSink* progress = nullptr;
  std::string inputs_digest, luks_uuid, root_fs_uuid, cmdline, base_sha256;
  fs::path base_raw, boot_img, root_img, disk_raw, key_path, manifest_path;
  fs::path guest_binary; // tdxctl-guest, for the initramfs
  std::vector<StageTiming> timings;
  fs::path tree, boot_tree; // the unpacked root and /boot
  std::string root_label, boot_uuid, boot_label;
  uint32_t inode_size = 0;
  int64_t epoch = 0; // SOURCE_DATE_EPOCH of the build
  std::string root_fs_sha256, boot_fs_sha256;
  Extent esp, boot, root;
  std::string os_distro, os_version;
  uint64_t root_size = 0;
  uint64_t boot_start = 0, root_start = 0; // where /boot and the LUKS2 root lie in disk.raw
  std::string kernel_sha384, initrd_sha384, kernel_name, initrd_name;
  std::string measure_digest; // "" without image.yaml measure:
  Json measure;               // OUTPUT.measure.json's document, once predicted
  LuksInfo luks;
  core::Secret key;
  bool key_generated = false;
  core::Secret recovery;
  Json manifest;
  std::unique_ptr<core::AtomicFile> image_tmp;
  fs::path work_parent;                // where the work directory is made
  std::optional<core::TempDir> work;   // removed with everything in it
};

namespace {

// The digest of fd's bytes from `offset`, `length` of them or (nullopt) to
// its end; with copy_to >= 0 the same bytes are also written there, so what
// is hashed is exactly what is used afterwards.
core::Result<std::string> digest_fd(int fd, uint64_t offset, std::optional<uint64_t> length, const char* algorithm,
                                    int copy_to, const fs::path& shown) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_get_digestbyname(algorithm), nullptr) != 1)
    return core::fail(Category::failed, "image.digest", std::string("OpenSSL has no ") + algorithm);
  std::vector<unsigned char> buf(4 * mib);
  for (uint64_t done = 0; !length || done < *length;) {
    size_t want = length ? static_cast<size_t>(std::min<uint64_t>(buf.size(), *length - done)) : buf.size();
    ssize_t n = ::pread(fd, buf.data(), want, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n == 0 && !length) break;
    if (n <= 0)
      return core::fail(Category::failed, "image.file.read",
                        shown.string() + ": reading at byte " + std::to_string(offset + done) + ": " +
                            (n == 0 ? "the file ends first" : std::strerror(errno)));
    EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(n));
    if (copy_to >= 0 && !core::write_full(copy_to, buf.data(), static_cast<size_t>(n)))
      return core::fail(Category::failed, "image.file.copy", "copying " + shown.string() + ": " + std::strerror(errno));
    done += static_cast<uint64_t>(n);
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  return core::to_hex(core::Bytes(md, md + len));
}

core::Result<std::string> digest_and_copy(const fs::path& path, const char* algorithm, int copy_to) {
  core::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0)
    return core::fail(Category::invalid_input, "image.file.unreadable", path.string() + ": " + std::strerror(errno));
  return digest_fd(fd.get(), 0, std::nullopt, algorithm, copy_to, path);
}

// The digest of `length` bytes of `path` from `offset`: a filesystem inside
// the disk image.
std::string range_digest(const fs::path& path, uint64_t offset, uint64_t length, const char* algorithm) {
  core::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0)
    throw Failure(Category::failed, "image.file.unreadable", path.string() + ": " + std::strerror(errno));
  return core::value_or_throw(digest_fd(fd.get(), offset, length, algorithm, -1, path));
}

} // namespace

core::Result<std::string> file_digest(const fs::path& path, const char* algorithm) {
  return digest_and_copy(path, algorithm, -1);
}

std::string derive_uuid(const std::string& digest_hex, const std::string& purpose) {
  auto h = core::sha256_hex(digest_hex + "\n" + purpose);
  auto bytes = *core::from_hex(h.substr(0, 32));
  bytes[6] = static_cast<uint8_t>((bytes[6] & 0x0f) | 0x50); // version 5 layout
  bytes[8] = static_cast<uint8_t>((bytes[8] & 0x3f) | 0x80); // RFC 4122 variant
  auto hex = core::to_hex(bytes);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" + hex.substr(16, 4) +
         "-" + hex.substr(20, 12);
}

std::string kernel_cmdline_for(const ImageConfig& config) {
  std::string cmdline = "root=/dev/mapper/root ro";
  if (config.module_sig_enforce) cmdline += " module.sig_enforce=1";
  if (config.disable_getty)
    cmdline += " systemd.mask=getty@tty1.service systemd.mask=serial-getty@ttyS0.service";
  if (!config.kernel_cmdline.empty()) cmdline += " " + config.kernel_cmdline;
  return cmdline;
}

std::optional<fs::path> find_guest_binary(const fs::path& tdxctl_binary) {
  std::error_code ec;
  auto self = fs::canonical(tdxctl_binary, ec);
  if (ec) return std::nullopt;
  for (auto candidate : {self.parent_path() / "tdxctl-guest",
                         self.parent_path().parent_path() / "libexec/tdxctl/tdxctl-guest"})
    if (fs::is_regular_file(candidate, ec)) return candidate;
  return self.parent_path() / "tdxctl-guest";
}

namespace {

// Everything that decides the image's content, hashed; the key never is.
std::string compute_inputs_digest(const ImageConfig& c, const std::string& base_sha) {
  Json j = c.to_json();
  j.erase("output");
  j.erase("measure"); // the launch shape predicted for, not the image's content (measure_digest)
  j["base"] = base_sha;
  // Files by what they are for (their content in place of the host path),
  // so the same inputs in another directory or checkout give the same digest.
  auto content = [](const fs::path& p) {
    auto d = file_digest(p, "SHA256");
    return d ? "sha256:" + *d : std::string("unreadable");
  };
  for (auto& f : j["files"]) f["source"] = content(f["source"].get<std::string>());
  for (auto& d : j["debs"]) d = content(d.get<std::string>());
  if (!c.unlock.ca_cert.empty()) j["unlock"]["ca_cert"] = content(c.unlock.ca_cert);
  Json templates = Json::object();
  for (auto name : {"crypttab", "unlock.conf", "initramfs-hook", "unlock-premount", "grub-cmdline.cfg",
                    "verify-volume.service", "volume.mount", "encrypted-volume.mount", "config-copy.mount", "sshd-hardening.conf"})
    templates[name] = content(core::template_dir() / "image" / (std::string(name) + ".mustache"));
  templates["tdxctl-quote-serve.service"] = content(core::template_dir() / "tdxctl-quote-serve.service");
  j["templates"] = templates;
  j["tdxctl_version"] = core::build_info::version;
  return core::sha256_hex(j.dump());
}

// What OUTPUT.measure.json is predicted from besides the image's own boot
// files: image.yaml's measure: section and the bytes of the files it names.
std::string compute_measure_digest(const ImageConfig& c) {
  if (!c.measure) return "";
  Json j = c.measure->to_json();
  for (auto [key, path] : {std::pair{"firmware", &c.measure->firmware}, std::pair{"platform", &c.measure->platform},
                           std::pair{"acpi_tables", &c.measure->acpi_tables}})
    if (!path->empty()) j[std::string(key) + "_sha256"] = file_digest(*path, "SHA256").value_or("unreadable");
  return core::sha256_hex(j.dump());
}

fs::path measure_output(const fs::path& output) { return fs::path(output.string() + ".measure.json"); }

// MRTD and RTMR0-3 of a TD that boots the kernel, initrd and command line
// this build wrote, with image.yaml's firmware and shape.
Json predict_measure(const BuildState& s) {
  const auto& m = *s.request.config.measure;
  measure::MeasureFiles f;
  f.firmware = m.firmware;
  f.kernel = *s.work / "vmlinuz";
  f.initrd = *s.work / "initrd";
  f.cmdline = s.cmdline;
  f.memory_bytes = static_cast<uint64_t>(m.memory_gib) << 30;
  f.platform = m.platform;
  f.acpi_tables = m.acpi_tables;
  auto p = core::value_or_throw(measure::predict_from_files(f));
  Json doc{{"schema", measure::kMeasureSchema}};
  doc.update(measure::prediction_to_json(p));
  return doc;
}

void copy_range(const fs::path& from, uint64_t from_off, const fs::path& to, uint64_t to_off,
                uint64_t length) {
  core::UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (in.get() < 0)
    throw Failure(Category::failed, "image.copy.open", "cannot open " + from.string() + ": " + std::strerror(errno));
  core::UniqueFd out(::open(to.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW));
  if (out.get() < 0)
    throw Failure(Category::failed, "image.copy.open", "cannot open " + to.string() + ": " + std::strerror(errno));
  if (!core::copy_bytes(in.get(), from_off, out.get(), to_off, length) || ::fsync(out.get()) != 0)
    throw Failure(Category::failed, "image.copy", "copying " + from.string() + " to " + to.string() + ": " +
                                                      (errno == ENODATA ? "short read" : std::strerror(errno)));
}

// The base image, copied into the work directory and hashed in one pass: a
// base swapped or rewritten after the plan checked it is caught, and nothing
// outside the private directory is read again.
void copy_base(BuildState& s) {
  const auto& c = s.request.config;
  int fd = s.work->create_file("base.qcow2", 0600);
  auto sha = digest_and_copy(c.base, "SHA256", fd);
  ::close(fd);
  if (!sha) throw Failure(sha.error());
  if (*sha != c.base_sha256)
    throw Failure(Category::invalid_input, "image.base.checksum",
                  c.base.string() + ": SHA-256 is now " + *sha + ", image.yaml base.sha256 expects " +
                      c.base_sha256 + " (it changed during the build)",
                  "use the base image the config pins, or update base.sha256");
}

// ---- stage: inspect --------------------------------------------------------

Failure base_layout_error(const BuildState& s, const std::string& what) {
  return Failure(Category::invalid_input, "image.base.layout", s.request.config.base.string() + ": " + what,
                 "the base must be a GPT disk with an ext4 root, an ext4 /boot and an EFI "
                 "system partition (the Ubuntu cloud image layout)");
}

// The one Linux root of the base, its distribution and version noted.
std::string find_root(Guestfs& g, BuildState& s) {
  auto roots = take_strings(guestfs::api().guestfs_inspect_os(g.get()));
  if (roots.size() != 1)
    throw Failure(Category::invalid_input, "image.base.layout",
                  s.request.config.base.string() + ": expected one Linux root filesystem, found " +
                      std::to_string(roots.size()),
                  "use a cloud image with an ext4 root, a separate /boot and an EFI system partition");
  auto root_dev = roots.front();
  char* distro = guestfs::api().guestfs_inspect_get_distro(g.get(), root_dev.c_str());
  s.os_distro = distro ? distro : "unknown";
  std::free(distro);
  int major = guestfs::api().guestfs_inspect_get_major_version(g.get(), root_dev.c_str());
  int minor = guestfs::api().guestfs_inspect_get_minor_version(g.get(), root_dev.c_str());
  s.os_version = std::to_string(major) + "." + std::to_string(minor);
  return root_dev;
}

// /boot from the base's fstab; the ESP from it too, else by its GPT type.
std::pair<std::string, std::string> find_boot_and_esp(Guestfs& g, const std::string& root_dev) {
  auto mounts = take_strings(guestfs::api().guestfs_inspect_get_mountpoints(g.get(), root_dev.c_str()));
  std::string boot_dev, esp_dev;
  for (size_t i = 0; i + 1 < mounts.size(); i += 2) {
    if (mounts[i] == "/boot") boot_dev = mounts[i + 1];
    if (mounts[i] == "/boot/efi") esp_dev = mounts[i + 1];
  }
  for (auto& part : g.list_partitions()) {
    int n = guestfs::api().guestfs_part_to_partnum(g.get(), part.c_str());
    char* type = guestfs::api().guestfs_part_get_gpt_type(g.get(), "/dev/sda", n);
    if (type && esp_dev.empty() && strcasecmp(type, esp_type) == 0) esp_dev = part;
    std::free(type);
  }
  return {boot_dev, esp_dev};
}

// The root filesystem's size in bytes; dm-crypt with 4096-byte sectors
// needs filesystem blocks of at least that.
uint64_t root_fs_bytes(Guestfs& g, const BuildState& s, const std::string& root_dev) {
  auto tune = take_strings(guestfs::api().guestfs_tune2fs_l(g.get(), root_dev.c_str()));
  uint64_t block_size = 0, block_count = 0;
  for (size_t i = 0; i + 1 < tune.size(); i += 2) {
    if (tune[i] == "Block size") block_size = std::stoull(tune[i + 1]);
    if (tune[i] == "Block count") block_count = std::stoull(tune[i + 1]);
  }
  if (block_size < 4096)
    throw base_layout_error(s, "the root filesystem's block size is " + std::to_string(block_size) +
                                   "; 4096 is needed for 4096-byte encryption sectors");
  return block_size * block_count;
}

void find_extents(Guestfs& g, BuildState& s, const std::string& root_dev, const std::string& boot_dev,
                  const std::string& esp_dev) {
  auto* parts = guestfs::api().guestfs_part_list(g.get(), "/dev/sda");
  if (!parts) g.check(-1, "image.base.partitions", "reading the partition table");
  auto extent = [&](const std::string& dev) {
    int n = guestfs::api().guestfs_part_to_partnum(g.get(), dev.c_str());
    for (uint32_t i = 0; i < parts->len; ++i)
      if (parts->val[i].part_num == n) return Extent{dev, parts->val[i].part_start, parts->val[i].part_size};
    throw base_layout_error(s, dev + " is not a partition of the base disk");
  };
  s.root = extent(root_dev);
  s.boot = extent(boot_dev);
  s.esp = extent(esp_dev);
  guestfs::api().guestfs_free_partition_list(parts);
}

void inspect_base(BuildState& s) {
  Guestfs g;
  g.add_drive(s.base_raw, true);
  g.launch();
  auto root_dev = find_root(g, s);
  auto [boot_dev, esp_dev] = find_boot_and_esp(g, root_dev);
  if (boot_dev.empty()) throw base_layout_error(s, "no separate /boot partition in /etc/fstab");
  if (esp_dev.empty()) throw base_layout_error(s, "no EFI system partition");
  if (g.vfs_type(root_dev) != "ext4") throw base_layout_error(s, "the root filesystem is not ext4");
  uint64_t fs_bytes = root_fs_bytes(g, s, root_dev);
  find_extents(g, s, root_dev, boot_dev, esp_dev);

  uint64_t wanted = s.request.config.root_size ? s.request.config.root_size : (s.root.size & ~4095ull);
  if (wanted < fs_bytes)
    throw Failure(Category::invalid_input, "image.root_size.too_small",
                  "root_size " + std::to_string(wanted) + " bytes is smaller than the base root "
                  "filesystem (" + std::to_string(fs_bytes) + " bytes)",
                  "raise root_size in image.yaml");
  s.root_size = wanted;
  spdlog::info("base: {} {} root {} /boot {} ESP {}", s.os_distro, s.os_version, root_dev, boot_dev, esp_dev);
}

// ---- stage: unpack ---------------------------------------------------------

void unpack_parts(BuildState& s) {
  s.tree = s.work->create_dir("tree");
  s.boot_tree = s.work->create_dir("boot");
  auto root = unpack_ext4(s.root_img, s.tree);
  s.root_label = root.label;
  auto boot = unpack_ext4(s.boot_img, s.boot_tree);
  s.boot_uuid = boot.uuid;
  s.boot_label = boot.label;
  s.inode_size = root.inode_size;
  // SOURCE_DATE_EPOCH: image.yaml's, else the base's newest file, so the same
  // base gives the same timestamps without a setting.
  s.epoch = s.request.config.source_date_epoch ? *s.request.config.source_date_epoch : root.newest_mtime;
  spdlog::info("unpacked {} root and {} /boot entries", root.files, boot.files);
  fs::remove(s.root_img);
  fs::remove(s.boot_img);
}

// ---- stage: customise ------------------------------------------------------

// Operator files and packages, copied into the staging directory the
// namespace sees read-only (it never sees the operator's directories).
void stage_operator_inputs(const ImageConfig& c, const fs::path& input, CustomiseSpec& spec) {
  fs::create_directories(input / "files");
  for (size_t i = 0; i < c.files.size(); ++i) {
    auto f = c.files[i];
    auto rel = "files/" + std::to_string(i);
    fs::copy_file(f.source, input / rel);
    f.source = rel;
    spec.files.push_back(f);
  }
  if (!c.debs.empty()) fs::create_directories(input / "debs");
  for (auto& d : c.debs) {
    auto rel = "debs/" + d.filename().string();
    fs::copy_file(d, input / rel);
    spec.debs.push_back(rel);
  }
}

void add_generated(CustomiseSpec& spec, std::string path, std::string content, int mode) {
  spec.generated.push_back({std::move(path), std::move(content), mode});
}

void add_hardening(const ImageConfig& c, CustomiseSpec& spec) {
  if (!c.hostname.empty()) add_generated(spec, "/etc/hostname", c.hostname + "\n", 0644);
  if (c.disable_cloud_init)
    add_generated(spec, "/etc/cloud/cloud-init.disabled", "disabled by tdxctl image build\n", 0644);
  if (c.disable_ssh_password)
    add_generated(spec, "/etc/ssh/sshd_config.d/90-tdxctl.conf", render_template("sshd-hardening.conf", {}), 0644);
}

// The initramfs's unlock path: its settings, crypttab, hook and script.
void add_unlock_path(const ImageConfig& c, const std::string& luks_uuid, CustomiseSpec& spec) {
  auto unlock_values = unlock_template_values(c.unlock, luks_uuid, c.volumes);
  if (!c.unlock.ca_cert.empty())
    add_generated(spec, k_guest_unlock_ca, core::value_or_throw(core::read_file(c.unlock.ca_cert)), 0644);
  add_generated(spec, "/etc/tdxctl/unlock.conf", render_template("unlock.conf", unlock_values), 0644);
  add_generated(spec, "/etc/crypttab", render_template("crypttab", {{"luks_uuid", luks_uuid}}), 0644);
  add_generated(spec, "/etc/initramfs-tools/hooks/tdxctl", render_template("initramfs-hook", unlock_values), 0755);
  add_generated(spec, "/etc/initramfs-tools/scripts/init-premount/tdxctl-unlock",
                render_template("unlock-premount", unlock_values), 0755);
}

// Per volume: its mount unit (enabled), its mount point and, for a plain
// volume other than tdx-config, the unit that verifies it before the mount.
void add_volume_units(const std::vector<VolumeMount>& volumes, CustomiseSpec& spec) {
  for (auto& v : volumes) {
    auto mount_unit = mount_unit_name(v.mount);
    std::map<std::string, std::string> vv{{"label", v.label}, {"mount", v.mount}, {"disk", v.disk},
                                         {"mount_unit", mount_unit}, {"label_escaped", escape_unit_dashes(v.label)},
                                         {"config_copy", k_config_copy_dir}};
    // tdx-config: the copy the initramfs checked against MRCONFIGID, never the disk again.
    bool config = v.label == k_config_label;
    if (!v.encrypted && !config)
      add_generated(spec, "/etc/systemd/system/tdxctl-verify-" + v.label + ".service",
                    render_template("verify-volume.service", vv), 0644);
    add_generated(spec, "/etc/systemd/system/" + mount_unit,
                  render_template(v.encrypted ? "encrypted-volume.mount" : config ? "config-copy.mount" : "volume.mount", vv),
                  0644);
    spec.dirs.push_back(v.mount);
    spec.links.emplace_back("/etc/systemd/system/" + mount_unit,
                            "/etc/systemd/system/local-fs.target.wants/" + mount_unit);
  }
}

// The quote service `tdxctl up --attest` asks over vsock (enabled), and the
// kernel command line for grub and for direct boot.
void add_quote_service_and_cmdline(const std::string& cmdline, CustomiseSpec& spec) {
  add_generated(spec, "/etc/systemd/system/tdxctl-quote-serve.service",
                core::value_or_throw(core::read_file(core::template_dir() / "tdxctl-quote-serve.service")), 0644);
  spec.links.emplace_back("/etc/systemd/system/tdxctl-quote-serve.service",
                          "/etc/systemd/system/multi-user.target.wants/tdxctl-quote-serve.service");
  add_generated(spec, "/etc/default/grub.d/90-tdxctl.cfg", render_template("grub-cmdline.cfg", {{"cmdline", cmdline}}),
                0644);
  add_generated(spec, "/etc/kernel/cmdline", cmdline + "\n", 0644);
}

// Everything the namespace needs from the host, prepared here: operator
// files and packages staged, templates rendered, tdxctl-guest and its
// libraries staged.
CustomiseSpec prepare_customisation(BuildState& s) {
  const auto& c = s.request.config;
  CustomiseSpec spec;
  spec.base_name = c.base.string();
  auto input = s.work->create_dir("input");
  ::chmod(input.c_str(), 0755); // read by the image's programs, inside a 0700 work directory
  stage_operator_inputs(c, input, spec);
  spec.commands = c.commands;
  spec.enable_units = c.enable_units;
  spec.disable_units = c.disable_units;
  spec.lock_users = c.lock_users;
  spec.mask_gettys = c.disable_getty;
  add_hardening(c, spec);
  add_unlock_path(c, s.luks_uuid, spec);
  add_volume_units(c.volumes, spec);
  add_quote_service_and_cmdline(s.cmdline, spec);

  auto staged = stage_guest_binary(*s.runner, fs::canonical(s.guest_binary), input);
  for (auto& lib : staged.libs) spec.guest_libs.push_back(lib);
  spec.guest_binary = staged.binary;
  return spec;
}

// The kernel and initrd update-initramfs left in /boot: regular files only
// (a link in the image must not make tdxctl read a host file).
void find_boot_files(BuildState& s) {
  std::vector<std::string> names;
  for (auto& e : fs::directory_iterator(s.boot_tree))
    if (e.is_regular_file() && !e.is_symlink()) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  for (auto& f : names)
    if (f.rfind("vmlinuz-", 0) == 0 && s.kernel_name.empty()) s.kernel_name = f;
  auto version = s.kernel_name.empty() ? std::string() : s.kernel_name.substr(std::string("vmlinuz-").size());
  for (auto& f : names)
    if (f == "initrd.img-" + version) s.initrd_name = f;
  if (s.kernel_name.empty() || s.initrd_name.empty())
    throw Failure(Category::invalid_input, "image.base.kernel",
                  "no /boot/vmlinuz-VERSION with its /boot/initrd.img-VERSION in the image");
  // Copied for the direct-boot outputs while hashed: what is measured is what is written.
  auto copy_out = [&](const std::string& name, const char* to) {
    int fd = s.work->create_file(to, 0600);
    auto sha = digest_and_copy(s.boot_tree / name, "SHA384", fd);
    ::close(fd);
    return core::value_or_throw(std::move(sha));
  };
  s.kernel_sha384 = copy_out(s.kernel_name, "vmlinuz");
  s.initrd_sha384 = copy_out(s.initrd_name, "initrd");
}

// OUTPUT.vmlinuz, OUTPUT.initrd, OUTPUT.cmdline: the direct-boot files (TDVF
// measures exactly these), each written under a temporary name and renamed.
fs::path boot_output(const fs::path& output, const char* suffix) { return fs::path(output.string() + "." + suffix); }

Json write_boot_outputs(BuildState& s) {
  const auto& out = s.request.output;
  auto copy_atomic = [&](const fs::path& from, const char* suffix) {
    auto f = std::make_unique<core::AtomicFile>(boot_output(out, suffix), 0644, s.request.force);
    f->close_fd();
    copy_range(from, 0, f->temp_path(), 0, fs::file_size(from));
    return f;
  };
  auto kernel = copy_atomic(*s.work / "vmlinuz", "vmlinuz");
  auto initrd = copy_atomic(*s.work / "initrd", "initrd");
  core::AtomicFile cmdline(boot_output(out, "cmdline"), 0644, s.request.force);
  cmdline.write(s.cmdline); // exactly the command line: no trailing newline
  auto entry = [](const fs::path& target, const std::string& sha384) {
    return Json{{"file", target.filename().string()}, {"sha384", sha384}};
  };
  Json files{{"kernel", entry(kernel->target(), s.kernel_sha384)},
             {"initrd", entry(initrd->target(), s.initrd_sha384)},
             {"cmdline", entry(cmdline.target(), core::sha384_hex(s.cmdline))}};
  kernel->commit();
  initrd->commit();
  cmdline.commit();
  return files;
}

void customise_root(BuildState& s) {
  auto spec = prepare_customisation(s);
  NamespaceSpec ns;
  ns.root = s.tree;
  ns.network = s.request.config.customise_network;
  ns.binds = {{s.boot_tree, "/boot", false}, {*s.work / "input", spec.input_dir, true}};
  ns.env = {"SOURCE_DATE_EPOCH=" + std::to_string(s.epoch)}; // initramfs-tools and dpkg honour it
  run_in_build_namespace(ns, [&spec] { customise_tree(spec); });
  fs::remove_all(*s.work / "input");
  find_boot_files(s);
}

// ---- stage: disk layout -----------------------------------------------------

// The GPT disk with the base's ESP copied in (nothing changes it); /boot and
// the root's plaintext are written into their partitions by mke2fs next, so
// neither is copied.
void layout_disk(BuildState& s) {
  uint64_t esp_size = (s.esp.size + mib - 1) / mib * mib;
  uint64_t boot_size = (s.boot.size + mib - 1) / mib * mib;
  uint64_t root_size = (luks_volume_size(s.root_size) + mib - 1) / mib * mib;
  uint64_t esp_start = mib;
  s.boot_start = esp_start + esp_size;
  s.root_start = s.boot_start + boot_size;
  uint64_t total = s.root_start + root_size + mib; // room for the backup GPT
  s.work->create_sparse("disk.raw", 0600, total);
  std::ostringstream script;
  script << "label: gpt\nlabel-id: " << derive_uuid(s.inputs_digest, "disk") << "\nunit: sectors\n"
         << "start=" << esp_start / 512 << ", size=" << esp_size / 512 << ", type=" << esp_type
         << ", uuid=" << derive_uuid(s.inputs_digest, "part-esp") << ", name=\"esp\"\n"
         << "start=" << s.boot_start / 512 << ", size=" << boot_size / 512 << ", type=" << xbootldr_type
         << ", uuid=" << derive_uuid(s.inputs_digest, "part-boot") << ", name=\"boot\"\n"
         << "start=" << s.root_start / 512 << ", size=" << root_size / 512 << ", type=" << linux_data_type
         << ", uuid=" << derive_uuid(s.inputs_digest, "part-root") << ", name=\"root\"\n";
  core::Command sfdisk{{"sfdisk", "--no-reread", "--no-tell-kernel", "-q", s.disk_raw.string()}};
  sfdisk.stdin_data = script.str();
  core::run_checked(*s.runner, sfdisk, "sfdisk (GPT layout)");
  copy_range(s.base_raw, s.esp.start, s.disk_raw, esp_start, s.esp.size);
}

// ---- stage: filesystems ----------------------------------------------------

// `name` only salts the directory hash seed ("root.img", "boot.img": the
// names these filesystems had as files, so the same inputs give the same bytes).
void make_filesystem(BuildState& s, const fs::path& tree, const char* name, uint64_t size, uint64_t offset,
                     const std::string& uuid, const std::string& label) {
  Ext4Options o;
  o.size = size;
  o.offset = offset;
  o.uuid = uuid;
  o.hash_seed = derive_uuid(s.inputs_digest, std::string("hash-seed-") + name);
  o.label = label;
  o.inode_size = s.inode_size;
  o.timestamp = s.epoch;
  make_ext4_from_tree(*s.runner, tree, s.disk_raw, o);
}

void build_filesystems(BuildState& s) {
  const uint64_t root_fs_start = s.root_start + luks_header_bytes; // the LUKS2 data area
  make_filesystem(s, s.tree, "root.img", s.root_size, root_fs_start, s.root_fs_uuid, s.root_label);
  make_filesystem(s, s.boot_tree, "boot.img", s.boot.size, s.boot_start, s.boot_uuid, s.boot_label);
  // The plaintext filesystems' digests: what a rebuild must reproduce
  // byte for byte (the LUKS layer around the root has random salts).
  s.root_fs_sha256 = range_digest(s.disk_raw, root_fs_start, s.root_size, "SHA256");
  s.boot_fs_sha256 = range_digest(s.disk_raw, s.boot_start, s.boot.size, "SHA256");
  fs::remove_all(s.tree);
  fs::remove_all(s.boot_tree);
}

core::Secret random_key() {
  std::array<uint8_t, 32> raw{};
  core::value_or_throw(core::random_bytes(raw, "LUKS key"));
  core::Secret key(core::to_hex(raw));
  OPENSSL_cleanse(raw.data(), raw.size());
  return key;
}

// ---- stage: encrypt ---------------------------------------------------------

void encrypt_root(BuildState& s) {
  if (!s.request.key_file) {
    s.key = random_key();
    s.key_generated = true;
  }
  LuksOptions o;
  o.uuid = s.luks_uuid;
  o.label = s.request.config.luks_label;
  o.unlock_cost = s.request.unlock_cost;
  o.recovery_cost = s.request.unlock_cost;
  o.reproducible = s.request.reproducible;
  o.seed_context = s.inputs_digest;
  s.luks = core::value_or_throw(encrypt_luks_in_place(s.disk_raw, s.root_start, s.root_size, s.key,
                                                       s.recovery.empty() ? nullptr : &s.recovery, o, *s.progress));
}

// ---- stage: write -----------------------------------------------------------

// OUTPUT.manifest.json: what the image is, what it was built from and how
// the guest finds its key service; boot_files and measure are added as
// those files are written.
Json build_manifest(const BuildState& s, const std::string& image_sha) {
  const auto& req = s.request;
  const auto& c = req.config;
  return Json{{"image", req.output.filename().string()},
              {"image_sha256", image_sha},
              {"base_sha256", s.base_sha256},
              {"base_os", {{"distro", s.os_distro}, {"version", s.os_version}}},
              {"luks", s.luks.to_json()},
              {"root_fs_uuid", s.root_fs_uuid},
              {"kernel", {{"file", s.kernel_name}, {"sha384", s.kernel_sha384}}},
              {"initrd", {{"file", s.initrd_name}, {"sha384", s.initrd_sha384}}},
              {"boot_files", Json::object()},
              {"source_date_epoch", s.epoch},
              {"reproducible", req.reproducible},
              {"root_fs_sha256", s.root_fs_sha256},
              {"boot_fs_sha256", s.boot_fs_sha256},
              {"kernel_cmdline", s.cmdline},
              {"tdxctl_version", core::build_info::version},
              {"inputs_digest", s.inputs_digest},
              {"endpoints", {{"nonce", c.unlock.nonce_endpoint}, {"attestation", c.unlock.attestation_endpoint}}},
              {"volumes", c.to_json()["volumes"]}};
}

std::vector<std::string> qemu_img_to_raw(const fs::path& from, const fs::path& to) {
  return {"qemu-img", "convert", "-O", "raw", from.string(), to.string()};
}

void write_outputs(BuildState& s) {
  const auto& req = s.request;
  core::AtomicFile image(req.output, 0644, req.force);
  image.close_fd();
  std::vector<std::string> argv{"qemu-img", "convert", "-O", "qcow2"};
  if (req.config.compress) argv.push_back("-c");
  argv.insert(argv.end(), {s.disk_raw.string(), image.temp_path().string()});
  core::run_checked(*s.runner, {argv}, "qemu-img convert to qcow2");
  s.manifest = build_manifest(s, core::value_or_throw(file_digest(image.temp_path(), "SHA256")));
  // Key first: an image whose key was lost would be useless; the boot
  // files before the manifest that records them, the image last.
  if (s.key_generated) {
    core::AtomicFile key(s.key_path, 0600, req.force);
    key.write(s.key.reveal()); // no joined copy of the key outside its locked pages
    key.write("\n");
    key.commit();
  }
  s.manifest["boot_files"] = write_boot_outputs(s);
  if (!s.measure.is_null()) {
    auto path = measure_output(req.output);
    core::write_file_atomic(path, s.measure.dump(2) + "\n", 0644, core::Force::yes);
    s.manifest["measure"] = {{"file", path.filename().string()}, {"mrtd", s.measure["mrtd"]}, {"rtmr", s.measure["rtmr"]}};
    s.manifest["measure_digest"] = s.measure_digest;
  }
  core::write_file_atomic(s.manifest_path, s.manifest.dump(2) + "\n", 0644, core::Force::yes);
  image.commit();
  s.work.reset();
}

// ---- planning ---------------------------------------------------------------

// OUTPUT.key and OUTPUT.manifest.json beside the output, and the directory
// the private work directory is made in.
void set_output_paths(BuildState& s) {
  const auto& output = s.request.output;
  if (output.extension() != ".qcow2")
    throw Failure(Category::usage, "image.output.name", output.string() + ": the output must end in .qcow2");
  s.key_path = fs::path(output.string() + ".key");
  s.manifest_path = fs::path(output.string() + ".manifest.json");
  auto output_dir = output.parent_path().empty() ? fs::path(".") : output.parent_path();
  s.work_parent = s.request.build_dir.empty() ? output_dir : s.request.build_dir;
}

// The inputs' preconditions, all before anything is written, and what they
// fix: the base's checksum, the digests, the UUIDs and the command line.
void check_inputs(BuildState& s) {
  const auto& request = s.request;
  const auto& c = request.config;
  if (!fs::is_regular_file(c.base))
    throw Failure(Category::invalid_input, "image.base.missing", c.base.string() + ": no such base image");
  if (!fs::is_directory(request.output.parent_path().empty() ? "." : request.output.parent_path()))
    throw Failure(Category::invalid_input, "image.output.dir",
                  request.output.parent_path().string() + ": the output directory does not exist");
  auto base_sha = file_digest(c.base, "SHA256");
  if (!base_sha) throw Failure(base_sha.error());
  if (*base_sha != c.base_sha256)
    throw Failure(Category::invalid_input, "image.base.checksum",
                  c.base.string() + ": SHA-256 is " + *base_sha + ", image.yaml base.sha256 expects " +
                      c.base_sha256,
                  "use the base image the config pins, or update base.sha256");
  s.base_sha256 = *base_sha;
  s.inputs_digest = compute_inputs_digest(c, *base_sha);
  s.luks_uuid = c.luks_uuid ? *c.luks_uuid : derive_uuid(s.inputs_digest, "luks");
  s.root_fs_uuid = c.root_fs_uuid ? *c.root_fs_uuid : derive_uuid(s.inputs_digest, "rootfs");
  s.cmdline = kernel_cmdline_for(c);
  s.measure_digest = compute_measure_digest(c);
  check_unlock_conf(c, s.luks_uuid);
}

// Same inputs already built: nothing to do (the old manifest is kept).
// Anything else at the output is refused without --force.
bool check_up_to_date(BuildState& s) {
  const auto& request = s.request;
  if (!fs::exists(request.output)) return false;
  if (auto old = core::read_file(s.manifest_path))
    if (auto m = up_to_date_manifest(*old, s.inputs_digest, s.measure_digest, request.reproducible)) {
      s.manifest = std::move(*m);
      return true;
    }
  core::refuse_existing(request.output, request.force);
  return false;
}

fs::path resolve_guest_binary(const BuildRequest& request) {
  auto guest = request.guest_binary.empty() ? find_guest_binary(request.tdxctl_binary)
                                            : std::optional<fs::path>(request.guest_binary);
  if (!guest || !fs::is_regular_file(*guest))
    throw Failure(Category::not_ready, "image.no_guest_binary",
                  "tdxctl-guest (the initramfs unlock client) not found" +
                      (guest ? ": " + guest->string() + " does not exist"
                             : std::string(" next to ") + request.tdxctl_binary.string()),
                  "build it with 'ninja tdxctl-guest' or install the tdxctl package");
  return *guest;
}

// What a build (rather than an up-to-date output) needs before its first
// stage: the secrets read, no other output in the way, the templates and
// tdxctl-guest there.
void check_build_needs(BuildState& s) {
  const auto& request = s.request;
  if (request.key_file) {
    auto key = core::Secret::from_file(request.key_file->string(), "unlock key");
    if (!key) throw Failure(key.error());
    if (key->size() < 16)
      throw Failure(Category::invalid_input, "image.key.short",
                    request.key_file->string() + ": the unlock key must be at least 16 bytes");
    s.key = std::move(*key);
  } else {
    core::refuse_existing(s.key_path, request.force);
  }
  for (auto suffix : {"vmlinuz", "initrd", "cmdline"})
    core::refuse_existing(boot_output(request.output, suffix), request.force);
  if (request.config.measure) core::refuse_existing(measure_output(request.output), request.force);
  if (request.recovery_file) {
    auto rec = core::Secret::from_file(request.recovery_file->string(), "recovery passphrase");
    if (!rec) throw Failure(rec.error());
    s.recovery = std::move(*rec);
  }
  for (auto name : {"crypttab", "unlock.conf", "initramfs-hook", "unlock-premount"})
    (void)render_template(name, {}); // a missing template fails now, not after the copy
  s.guest_binary = resolve_guest_binary(request);
}

// One stage of the plan, timed for the table `image build` prints; every
// stage is done when the output is up to date, none otherwise.
void add_stage(BuildPlan& bp, const std::shared_ptr<BuildState>& s, std::string id, std::string kind,
               std::string summary, Json detail, std::function<void()> apply) {
  auto timed = [s, id, apply = std::move(apply)] {
    auto start = std::chrono::steady_clock::now();
    apply();
    s->timings.push_back({id, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()});
  };
  bp.plan.add(core::Step{std::move(id), std::move(kind), std::move(summary), std::move(detail),
                         [up_to_date = bp.up_to_date] { return up_to_date; }, std::move(timed), {}});
}

// From the base to the unpacked root and /boot trees.
void add_unpack_stages(BuildPlan& bp, const std::shared_ptr<BuildState>& s) {
  const auto& c = s->request.config;
  add_stage(bp, s, "image.build_dir", "file",
            "create a private work directory (mkdtemp, 0700) in " + s->work_parent.string() +
                ", removed when the build ends",
            {{"parent", s->work_parent.string()}}, [s] {
              s->work.emplace(s->work_parent, "." + s->request.output.filename().string() + ".build");
              const auto& w = *s->work;
              s->base_raw = w / "base.raw";
              s->boot_img = w / "boot.img";
              s->root_img = w / "root.img";
              s->disk_raw = w / "disk.raw";
            });
  add_stage(bp, s, "base.convert", "command",
            "copy the base into the work directory, checking the copy's SHA-256, and convert it to raw",
            {{"argv", qemu_img_to_raw("$WORK/base.qcow2", "$WORK/base.raw")}, {"sha256", c.base_sha256}}, [s] {
              copy_base(*s);
              auto copy = *s->work / "base.qcow2";
              core::run_checked(*s->runner, {qemu_img_to_raw(copy, s->base_raw)}, "qemu-img convert");
              fs::remove(copy);
            });
  add_stage(bp, s, "base.inspect", "check", "inspect the base image: root, /boot, ESP (libguestfs)",
            {{"base", c.base.string()}}, [s] { inspect_base(*s); });
  add_stage(bp, s, "parts.extract", "file", "copy the root and /boot filesystems out of the base (for unpacking)",
            {{"root", "$WORK/root.img"}, {"boot", "$WORK/boot.img"}}, [s] {
              s->work->create_sparse("boot.img", 0600, s->boot.size);
              s->work->create_sparse("root.img", 0600, s->root.size);
              copy_range(s->base_raw, s->boot.start, s->boot_img, 0, s->boot.size);
              copy_range(s->base_raw, s->root.start, s->root_img, 0, s->root.size);
            });
  add_stage(bp, s, "root.unpack", "file",
            "unpack the root and /boot filesystems into a private tree (libext2fs, natively)",
            {{"tree", "$WORK/tree"}, {"boot", "$WORK/boot"}}, [s] { unpack_parts(*s); });
}

// From the unpacked trees to the customised trees (and their predicted measurements).
void add_customise_stages(BuildPlan& bp, const std::shared_ptr<BuildState>& s) {
  const auto& c = s->request.config;
  add_stage(bp, s, "root.customise", "command",
            "customise the tree natively in private mount/pid/uts" + std::string(c.customise_network ? "" : "/net") +
                " namespaces: files, packages, commands, units, hardening, unlock path, kernel command line, "
                "initramfs",
            {{"luks_uuid", s->luks_uuid}, {"root_fs_uuid", s->root_fs_uuid}, {"kernel_cmdline", s->cmdline},
             {"files", c.files.size()}, {"commands", c.commands}, {"debs", c.debs.size()}},
            [s] { customise_root(*s); });
  if (c.measure)
    add_stage(bp, s, "boot.measure", "check",
              "predict MRTD and RTMR0-3 for the kernel, initrd and command line, with image.yaml's firmware and shape",
              {{"firmware", c.measure->firmware.string()}, {"memory_gib", c.measure->memory_gib},
               {"output", measure_output(s->request.output).string()}},
              [s] { s->measure = predict_measure(*s); });
}

// From the customised trees to the encrypted disk and the outputs beside it.
void add_output_stages(BuildPlan& bp, const std::shared_ptr<BuildState>& s) {
  const auto& request = s->request;
  add_stage(bp, s, "disk.layout", "command", "lay out the GPT disk: ESP, /boot, LUKS2 root (sfdisk), and copy the ESP in",
            {{"disk", "$WORK/disk.raw"}}, [s] { layout_disk(*s); });
  add_stage(bp, s, "root.mkfs", "command",
            "build the root and /boot filesystems from the trees straight into their partitions (mke2fs -d -E offset)",
            {{"disk", "$WORK/disk.raw"}, {"root_fs_uuid", s->root_fs_uuid}}, [s] { build_filesystems(*s); });
  add_stage(bp, s, "root.encrypt", "file",
            "encrypt the root partition in place into LUKS2 (aes-xts-plain64, 512-bit key, 4096-byte sectors, argon2id)",
            {{"disk", "$WORK/disk.raw"}, {"luks_uuid", s->luks_uuid},
             {"recovery_keyslot", request.recovery_file.has_value()}},
            [s] { encrypt_root(*s); });
  add_stage(bp, s, "image.write", "file",
            std::string("write ") + request.output.string() + " (qcow2" + (request.config.compress ? ", compressed" : "") +
                "), its manifest" + (request.key_file ? "" : " and the new unlock key (0600)"),
            {{"output", request.output.string()}, {"manifest", s->manifest_path.string()},
             {"key", request.key_file ? Json() : Json(s->key_path.string())}},
            [s] { write_outputs(*s); });
}

} // namespace

std::optional<Json> up_to_date_manifest(std::string_view manifest, const std::string& inputs_digest,
                                        const std::string& measure_digest, bool reproducible) {
  try {
    auto m = Json::parse(manifest);
    // --reproducible changes the LUKS layer, not the inputs: an image built
    // without it is not what a reproducible rebuild asks for.
    if (m.value("inputs_digest", "") == inputs_digest && m.value("measure_digest", "") == measure_digest &&
        m.value("reproducible", false) == reproducible)
      return m;
  } catch (const Json::exception&) {
  }
  return std::nullopt;
}

Json BuildPlan::manifest() const { return state->manifest; }

const std::vector<StageTiming>& BuildPlan::timings() const { return state->timings; }

BuildPlan make_build_plan(const BuildRequest& request, core::ProcessRunner& runner,
                          core::ProgressSink& progress) {
  auto s = std::make_shared<BuildState>();
  s->request = request;
  s->runner = &runner;
  s->progress = &progress;
  set_output_paths(*s);
  check_inputs(*s);

  BuildPlan bp;
  bp.state = s;
  bp.inputs_digest = s->inputs_digest;
  bp.luks_uuid = s->luks_uuid;
  bp.root_fs_uuid = s->root_fs_uuid;
  bp.kernel_cmdline = s->cmdline;
  bp.up_to_date = check_up_to_date(*s);
  if (!bp.up_to_date) check_build_needs(*s);

  add_unpack_stages(bp, s);
  add_customise_stages(bp, s);
  add_output_stages(bp, s);
  return bp;
}

} // namespace tdx::image
