// The encrypted data volume. The decision "format or open" is made from the
// device's bytes alone, strictest first: a LUKS header is opened (never
// reformatted, whatever its keyslots say); anything libblkid recognises, or
// any non-zero byte where signatures live, is refused; only a blank device is
// formatted. A boot cut off between luksFormat and mke2fs recovers: the
// header's label, set after mke2fs, says whether the filesystem exists.
#include "tdxctl/unlock/containerd_volume.hpp"

#include "tdxctl/core/unique_fd.hpp"
#include "tdxctl/cryptsetup/api.hpp"
#include "tdxctl/unlock/luks_open.hpp"
#include "tdxctl/unlock/unlock_config.hpp"

#include <blkid/blkid.h>
#include <spdlog/spdlog.h>
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/fs.h>

namespace tdx::unlock {
namespace fs = std::filesystem;
using core::Category;

namespace {

constexpr uint64_t k_mib = 1ull << 20;

using Crypt = cryptsetup::Device;

struct ProbeDeleter {
  void operator()(blkid_struct_probe* p) const { blkid_free_probe(p); }
};

core::Result<uint64_t> size_of(int fd, const fs::path& device) {
  struct stat st{};
  if (fstat(fd, &st) != 0)
    return core::fail(Category::failed, "unlock.volume_read", device.string() + ": " + std::strerror(errno));
  if (S_ISREG(st.st_mode)) return static_cast<uint64_t>(st.st_size);
  uint64_t bytes = 0;
  if (!S_ISBLK(st.st_mode) || ioctl(fd, BLKGETSIZE64, &bytes) != 0)
    return core::fail(Category::failed, "unlock.volume_read", device.string() + " is not a block device");
  return bytes;
}

// The offset of the first non-zero byte in [from, from + length), or -1.
core::Result<int64_t> first_nonzero(int fd, const fs::path& device, uint64_t from, uint64_t length) {
  std::vector<unsigned char> buf(length);
  size_t done = 0;
  while (done < length) {
    ssize_t n = ::pread(fd, buf.data() + done, length - done, static_cast<off_t>(from + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return core::fail(Category::failed, "unlock.volume_read",
                        fmt::format("{}: reading {} bytes at offset {}: {}", device.string(), length, from + done,
                                    n == 0 ? "unexpected end" : std::strerror(errno)));
    done += static_cast<size_t>(n);
  }
  auto it = std::find_if(buf.begin(), buf.end(), [](unsigned char c) { return c != 0; });
  return it == buf.end() ? int64_t{-1} : static_cast<int64_t>(from + static_cast<uint64_t>(it - buf.begin()));
}

// libblkid's safe probe: superblocks (filesystems, LUKS, RAID and LVM members,
// swap) and partition tables. "" when it finds nothing.
core::Result<std::string> blkid_signature(const fs::path& device) {
  std::unique_ptr<blkid_struct_probe, ProbeDeleter> pr(blkid_new_probe_from_filename(device.c_str()));
  if (!pr)
    return core::fail(Category::failed, "unlock.volume_probe",
                      fmt::format("libblkid cannot probe {}: {}", device.string(), std::strerror(errno)));
  blkid_probe_enable_superblocks(pr.get(), 1);
  blkid_probe_set_superblocks_flags(pr.get(), BLKID_SUBLKS_TYPE | BLKID_SUBLKS_BADCSUM);
  blkid_probe_enable_partitions(pr.get(), 1);
  blkid_probe_set_partitions_flags(pr.get(), BLKID_PARTS_FORCE_GPT);
  int rc = blkid_do_safeprobe(pr.get());
  if (rc == 1) return std::string();
  if (rc == -2) return std::string("several signatures (ambivalent probe)");
  if (rc < 0)
    return core::fail(Category::failed, "unlock.volume_probe", "libblkid could not probe " + device.string());
  for (const char* tag : {"TYPE", "PTTYPE"}) {
    const char* value = nullptr;
    if (blkid_probe_lookup_value(pr.get(), tag, &value, nullptr) == 0 && value) return std::string(value);
  }
  return std::string("an unnamed signature");
}

void log_to_spdlog(int level, const char* msg, void*) {
  std::string_view m(msg);
  if (!m.empty() && m.back() == '\n') m.remove_suffix(1);
  if (level == CRYPT_LOG_ERROR) spdlog::debug("libcryptsetup: {}", m);
  else spdlog::trace("libcryptsetup: {}", m);
}

core::Error crypt_error(const std::string& code, const std::string& what, int rc) {
  return core::Error{Category::failed, code, fmt::format("{}: {}", what, std::strerror(-rc)), {}};
}

} // namespace

core::Result<std::string> format_encrypted_volume(const fs::path& device, const core::Secret& key) {
  cryptsetup::api().crypt_set_log_callback(nullptr, log_to_spdlog, nullptr);
  crypt_device* raw = nullptr;
  if (int rc = cryptsetup::api().crypt_init(&raw, device.c_str()); rc < 0)
    return std::unexpected(crypt_error("unlock.luks_init", "cannot open " + device.string(), rc));
  Crypt cd(raw);
  crypt_pbkdf_type pbkdf{};
  pbkdf.type = CRYPT_KDF_PBKDF2;
  pbkdf.hash = "sha256";
  pbkdf.iterations = 1000; // libcryptsetup's minimum; see k_min_volume_key_bytes
  pbkdf.flags = CRYPT_PBKDF_NO_BENCHMARK;
  crypt_params_luks2 params{};
  params.pbkdf = &pbkdf;
  params.sector_size = 4096;
  if (int rc = cryptsetup::api().crypt_format(cd.get(), CRYPT_LUKS2, "aes", "xts-plain64", nullptr, nullptr, 64, &params); rc < 0)
    return std::unexpected(crypt_error("unlock.volume_format", "LUKS2 format of " + device.string(), rc));
  if (int rc = cryptsetup::api().crypt_keyslot_add_by_volume_key(cd.get(), CRYPT_ANY_SLOT, nullptr, 0, key.reveal().data(), key.size());
      rc < 0)
    return std::unexpected(crypt_error("unlock.volume_format", "adding the keyslot to " + device.string(), rc));
  const char* uuid = cryptsetup::api().crypt_get_uuid(cd.get());
  return std::string(uuid ? uuid : "");
}

core::Json VolumeResult::to_json() const {
  return core::Json{{"device", device.string()},       {"luks_uuid", luks_uuid},
                    {"formatted", formatted},          {"filesystem_created", filesystem_created},
                    {"activated", activated},          {"already_active", already_active},
                    {"would_format", would_format},    {"keyslot", keyslot}};
}

std::string disk_by_serial(const std::string& serial) { return "/dev/disk/by-id/virtio-" + serial; }

core::Result<void> check_disk_serial(std::string_view serial) {
  bool ok = !serial.empty() && serial.size() <= 20 && serial != "." && serial != "..";
  for (unsigned char c : serial) ok = ok && (std::isalnum(c) || c == '_' || c == '-' || c == '.');
  if (!ok)
    return core::fail(Category::invalid_input, "unlock.disk_serial",
                      fmt::format("'{}' is not a disk serial (1-20 of A-Z a-z 0-9 _ - .)", serial));
  return {};
}

core::Result<DeviceContent> probe_device_content(const fs::path& device) {
  core::UniqueFd f{::open(device.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.get() < 0)
    return core::fail(Category::failed, "unlock.volume_read", device.string() + ": " + std::strerror(errno));
  auto size = size_of(f.get(), device);
  if (!size) return std::unexpected(size.error());
  auto signature = blkid_signature(device);
  if (!signature) return std::unexpected(signature.error());
  if (*signature == "crypto_LUKS") return DeviceContent{DeviceContent::luks, *signature};
  if (!signature->empty()) return DeviceContent{DeviceContent::other, *signature};
  // Where signatures live: the first MiB (superblocks, partition tables,
  // headers) and the last (backup GPT, RAID 0.90/1.0 superblocks).
  uint64_t head = std::min(*size, k_mib), tail_from = *size > k_mib ? *size - k_mib : 0;
  for (auto [from, length] : {std::pair{uint64_t{0}, head}, std::pair{tail_from, *size - tail_from}}) {
    auto at = first_nonzero(f.get(), device, from, length);
    if (!at) return std::unexpected(at.error());
    if (*at >= 0)
      return DeviceContent{DeviceContent::other, fmt::format("data at byte {} that libblkid does not name", *at)};
  }
  return DeviceContent{DeviceContent::empty, ""};
}

core::Result<VolumeResult> open_encrypted_volume(const core::Root& root, const VolumeRequest& r,
                                                 const core::Secret& key, core::ProcessRunner& runner) {
  if (auto ok = check_disk_serial(r.disk_serial); !ok) return std::unexpected(ok.error());
  if (auto ok = check_mapper_name(r.name); !ok) return std::unexpected(ok.error());
  if (key.size() < k_min_volume_key_bytes)
    return core::fail(Category::failed, "unlock.volume_key_short",
                      fmt::format("the released key for /dev/mapper/{} is {} bytes; at least {} are needed", r.name,
                                  key.size(), k_min_volume_key_bytes),
                      "register a random key of at least 32 bytes with the key service");
  VolumeResult out;
  if (mapping_active(r.name)) {
    out.already_active = true;
    return out;
  }
  auto dev = resolve_device_link(root, disk_by_serial(r.disk_serial), r.wait,
                                 "the host attached no disk with serial " + r.disk_serial,
                                 "attach the volume (tdxctl td launch --containerd-volume) or remove it from image.yaml");
  if (!dev) return std::unexpected(dev.error());
  out.device = *dev;
  auto content = probe_device_content(*dev);
  if (!content) return std::unexpected(content.error());
  if (content->kind == DeviceContent::other)
    return core::fail(Category::failed, "unlock.volume_not_empty",
                      fmt::format("{} (serial {}) holds {}: it is neither blank nor LUKS, so it is not formatted",
                                  dev->string(), r.disk_serial, content->detail),
                      "give the TD a blank disk for it (tdxctl volume cache create --kind containerd)");

  if (content->kind == DeviceContent::empty) {
    if (r.test_only) {
      out.would_format = true;
      return out;
    }
    spdlog::info("{} (serial {}) is blank: formatting it as LUKS2", dev->string(), r.disk_serial);
    auto uuid = format_encrypted_volume(*dev, key);
    if (!uuid) return std::unexpected(uuid.error());
    out.formatted = true;
  }
  cryptsetup::api().crypt_set_log_callback(nullptr, log_to_spdlog, nullptr);
  crypt_device* raw = nullptr;
  if (int rc = cryptsetup::api().crypt_init(&raw, dev->c_str()); rc < 0)
    return std::unexpected(crypt_error("unlock.luks_init", "cannot open " + dev->string(), rc));
  Crypt cd(raw);
  if (int rc = cryptsetup::api().crypt_load(cd.get(), CRYPT_LUKS, nullptr); rc < 0)
    return std::unexpected(crypt_error("unlock.not_luks", dev->string() + ": unreadable LUKS header", rc));
  if (const char* uuid = cryptsetup::api().crypt_get_uuid(cd.get())) out.luks_uuid = uuid;
  int slot = cryptsetup::api().crypt_activate_by_passphrase(cd.get(), r.test_only ? nullptr : r.name.c_str(), CRYPT_ANY_SLOT,
                                          key.reveal().data(), key.size(), 0);
  if (slot == -EPERM)
    return core::fail(Category::failed, "unlock.wrong_key",
                      fmt::format("the released containerd key opens no keyslot of {} (LUKS UUID {})", dev->string(),
                                  out.luks_uuid),
                      "the disk belongs to another TD or the key service holds another key for this one");
  if (slot < 0)
    return std::unexpected(crypt_error(
        "unlock.activate", fmt::format("activating {} as /dev/mapper/{}", dev->string(), r.name), slot));
  out.keyslot = slot;
  if (r.test_only) return out;
  out.activated = true;

  // The filesystem. The LUKS2 label is set only once mke2fs has succeeded, so
  // a header without it is a first use that was cut off (and holds nothing
  // but what this key encrypted): the filesystem is made again.
  const fs::path mapped = "/dev/mapper/" + r.name;
  const char* label = cryptsetup::api().crypt_get_label(cd.get());
  if (!label || std::string_view(label) != r.name) {
    core::Command mkfs{{"mke2fs", "-q", "-F", "-t", "ext4", "-L", r.name.substr(0, 16), "-m", "0", "-E",
                        "lazy_itable_init=1,nodiscard", mapped.string()}};
    mkfs.timeout = std::chrono::minutes(10);
    auto done = runner.run(mkfs);
    if (!done || !done->ok())
      return core::fail(Category::failed, "unlock.volume_mkfs",
                        fmt::format("mke2fs on {} failed: {}", mapped.string(),
                                    done ? core::trim(done->err) : done.error().message));
    if (int rc = cryptsetup::api().crypt_set_label(cd.get(), r.name.c_str(), nullptr); rc < 0)
      return std::unexpected(crypt_error("unlock.volume_format", "labelling the LUKS2 header of " + dev->string(), rc));
    out.filesystem_created = true;
  } else {
    auto inner = probe_device_content(mapped);
    if (!inner) return std::unexpected(inner.error());
    if (inner->detail != "ext4")
      return core::fail(Category::failed, "unlock.volume_not_ext4",
                        fmt::format("{} holds {}, not the ext4 filesystem made on first use", mapped.string(),
                                    inner->detail.empty() ? "no filesystem" : inner->detail));
  }
  return out;
}

} // namespace tdx::unlock
