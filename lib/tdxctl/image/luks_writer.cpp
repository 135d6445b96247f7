// The LUKS2 writer. libcryptsetup owns everything that is format-critical
// (header JSON, keyslot areas, argon2id, the anti-forensic split, checksums);
// tdxctl only supplies the data area, encrypted in userspace by
// xts_encrypt.cpp with the volume key libcryptsetup generated. This keeps the
// header byte-compatible with `cryptsetup open` while the bulk work runs at
// AES-NI speed on the build host instead of dm-crypt in an emulated VM.
//
// A reproducible volume (options.reproducible) is formatted the same way with
// a derived volume key and fixed KDF costs; luks_deterministic.cpp then
// replaces what libcryptsetup drew at random, and libcryptsetup itself checks
// the result before the data area is written.
#include "tdxctl/image/luks_writer.hpp"

#include "tdxctl/core/fs.hpp"
#include "tdxctl/core/unique_fd.hpp"
#include "tdxctl/cryptsetup/api.hpp"
#include "tdxctl/image/luks_deterministic.hpp"
#include "tdxctl/image/xts_encrypt.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace tdx::image {
namespace {

using core::Category;
constexpr uint64_t header_area = luks_header_bytes;

using Crypt = cryptsetup::Device;

// The volume key, locked in RAM and wiped on every exit path.
struct VolumeKey {
  unsigned char bytes[64];
  size_t size = sizeof bytes;
  VolumeKey() { mlock(bytes, sizeof bytes); }
  ~VolumeKey() {
    OPENSSL_cleanse(bytes, sizeof bytes);
    munlock(bytes, sizeof bytes);
  }
};

core::Error crypt_error(const std::string& code, const std::string& what, int rc) {
  return core::Error{Category::failed, code, what + ": " + std::strerror(-rc), {}};
}

crypt_pbkdf_type pbkdf_of(const Argon2Cost& cost) {
  crypt_pbkdf_type p{};
  p.type = CRYPT_KDF_ARGON2ID;
  p.hash = "sha256";
  p.time_ms = cost.time_ms;
  p.iterations = cost.iterations;
  p.max_memory_kb = cost.memory_kib;
  p.parallel_threads = cost.parallel_threads;
  p.flags = cost.iterations ? CRYPT_PBKDF_NO_BENCHMARK : 0;
  return p;
}

// A reproducible volume's seed (stretch_luks_seed) at the unlock keyslot's
// own fixed cost, salted by the UUID and the build's context.
core::Result<void> stretch_seed(std::string_view unlock_key, const std::string& uuid, const LuksOptions& o,
                                VolumeKey& seed) {
  seed.size = 32;
  return stretch_luks_seed(unlock_key, uuid, o.seed_context, o.unlock_cost.iterations, o.unlock_cost.memory_kib,
                           o.unlock_cost.parallel_threads, {seed.bytes, seed.size});
}

LuksSeed seed_of(const VolumeKey& seed, const std::string& uuid) {
  return {std::string_view(reinterpret_cast<const char*>(seed.bytes), seed.size), uuid};
}

core::Error reproducible_error(const std::string& message) {
  return core::Error{Category::failed, "image.luks.reproducible", message, {}};
}

// The argon2 cost a reproducible keyslot records: what was asked, within
// libcryptsetup's fixed limit of 4 lanes (lib/crypto_backend/pbkdf_check.c),
// but not lowered to this host's CPU count or RAM as libcryptsetup does.
DeterministicKeyslot fixed_keyslot(int slot, std::string_view passphrase, const Argon2Cost& cost) {
  return {slot, passphrase, cost.memory_kib, std::min<uint32_t>(cost.parallel_threads, 4)};
}

// The headers and keyslots area, to notice libcryptsetup repairing a header
// copy while loading (which it would do silently, with a fresh random salt).
core::Result<std::vector<char>> read_head(int fd, uint64_t size) {
  std::vector<char> buf(size);
  if (::pread(fd, buf.data(), buf.size(), 0) != static_cast<ssize_t>(buf.size()))
    return std::unexpected(reproducible_error("reading back the LUKS2 header area failed"));
  return buf;
}

// libcryptsetup's word on the rewritten header: it loads (both checksums and
// the JSON), every keyslot yields exactly the derived volume key, and loading
// changed nothing on disk.
core::Result<void> verify_reproducible(const std::filesystem::path& output, int fd, const LuksInfo& info,
                                       const VolumeKey& expect, std::string_view unlock_key,
                                       const core::Secret* recovery) {
  auto before = read_head(fd, info.data_offset);
  if (!before) return std::unexpected(before.error());
  crypt_device* raw = nullptr;
  if (int rc = cryptsetup::api().crypt_init(&raw, output.c_str()); rc < 0)
    return std::unexpected(crypt_error("image.luks.init", "libcryptsetup cannot open " + output.string(), rc));
  Crypt cd(raw);
  if (int rc = cryptsetup::api().crypt_load(cd.get(), CRYPT_LUKS2, nullptr); rc < 0)
    return std::unexpected(reproducible_error("verify: libcryptsetup does not load the rewritten header of " +
                                              output.string() + ": " + std::strerror(-rc)));
  auto check = [&](int slot, std::string_view pass, const std::string& what) -> core::Result<void> {
    VolumeKey got;
    int rc = cryptsetup::api().crypt_volume_key_get(cd.get(), slot, reinterpret_cast<char*>(got.bytes), &got.size,
                                  pass.data(), pass.size());
    if (rc < 0)
      return std::unexpected(reproducible_error("verify: the rewritten " + what + " keyslot does not open: " +
                                                std::strerror(-rc)));
    if (got.size != expect.size || CRYPTO_memcmp(got.bytes, expect.bytes, got.size) != 0)
      return std::unexpected(reproducible_error("verify: the rewritten " + what +
                                                " keyslot yields a different volume key"));
    return {};
  };
  TDX_TRY(check(info.unlock_keyslot, unlock_key, "unlock"));
  if (info.recovery_keyslot >= 0) TDX_TRY(check(info.recovery_keyslot, recovery->reveal(), "recovery"));
  cd.reset();
  auto after = read_head(fd, info.data_offset);
  if (!after) return std::unexpected(after.error());
  if (*before != *after)
    return std::unexpected(reproducible_error("verify: libcryptsetup rewrote the header while loading it "
                                              "(it rejected one of the two copies)"));
  return {};
}

} // namespace

core::Json LuksInfo::to_json() const {
  core::Json j{{"uuid", uuid},           {"type", "luks2"},
               {"cipher", cipher},       {"key_bits", key_bits},
               {"sector_size", sector_size}, {"pbkdf", "argon2id"},
               {"data_offset", data_offset}, {"payload_bytes", payload_bytes},
               {"unlock_keyslot", unlock_keyslot}};
  j["recovery_keyslot"] = recovery_keyslot >= 0 ? core::Json(recovery_keyslot) : core::Json();
  return j;
}

uint64_t luks_volume_size(uint64_t payload_bytes) { return header_area + payload_bytes; }

namespace {

// What both writers refuse before they write anything.
core::Result<void> check_request(uint64_t payload, const core::Secret& unlock_key, const core::Secret* recovery,
                                 const LuksOptions& options, const std::string& shown) {
  if (unlock_key.empty())
    return core::fail(Category::invalid_input, "image.key.empty", "the unlock key is empty");
  if (payload == 0 || payload % options.sector_size != 0)
    return core::fail(Category::invalid_input, "image.plaintext.size",
                      shown + ": size " + std::to_string(payload) + " is not a non-zero multiple of the " +
                          std::to_string(options.sector_size) + "-byte encryption sector");
  const bool has_recovery = recovery && !recovery->empty();
  if (options.reproducible &&
      (options.unlock_cost.iterations == 0 || (has_recovery && options.recovery_cost.iterations == 0)))
    return core::fail(Category::invalid_input, "image.luks.reproducible_cost",
                      "reproducible builds need a fixed argon2 cost (--argon2-iterations): without it "
                      "libcryptsetup benchmarks the keyslots on this host",
                      "set --argon2-iterations (argon2id passes per keyslot, e.g. 4)");
  return {};
}

// The writers' common part: the header formatted (and for a reproducible
// volume rewritten and checked) in a memfd, the data area encrypted from
// in_fd at in_offset into out_fd after the header area at volume_offset,
// and only then the header copied in front of it: a volume whose data is not
// all encrypted never carries a header.
core::Result<LuksInfo> format_and_encrypt(int in_fd, uint64_t in_offset, int out_fd, uint64_t volume_offset,
                                          uint64_t payload, const std::string& shown, const core::Secret& unlock_key,
                                          const core::Secret* recovery, const LuksOptions& options,
                                          core::ProgressSink& progress) {
  const bool has_recovery = recovery && !recovery->empty();

  // A reproducible volume's key is derived, never drawn; the UUID salts the
  // derivation, so it is fixed first (lower case, as libcryptsetup stores it).
  VolumeKey vk, seed;
  std::string seed_uuid = options.uuid;
  if (options.reproducible) {
    auto lower = [](std::string t) {
      std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      return t;
    };
    seed_uuid = lower(seed_uuid);
    TDX_TRY(stretch_seed(unlock_key.reveal(), seed_uuid, options, seed));
    if (seed_uuid.empty()) { // derived from the stretched seed, never from the key itself
      auto derived = derive_luks_uuid(std::string_view(reinterpret_cast<const char*>(seed.bytes), seed.size));
      if (!derived) return std::unexpected(derived.error());
      seed_uuid = lower(*derived);
    }
    TDX_TRY(derive_volume_key(seed_of(seed, seed_uuid), {vk.bytes, vk.size}));
  }

  // libcryptsetup formats a header at the start of a file, so it formats one
  // in memory: a sparse memfd the volume's size (nothing on disk, no name
  // anyone could prepare), whose header area is then copied into the image.
  core::UniqueFd header(::memfd_create("tdxctl-luks-header", MFD_CLOEXEC));
  if (header.get() < 0 || ftruncate(header.get(), static_cast<off_t>(luks_volume_size(payload))) != 0)
    return core::fail(Category::failed, "image.luks.create", std::string("memfd for the LUKS2 header: ") + std::strerror(errno));
  const std::filesystem::path header_path = "/proc/self/fd/" + std::to_string(header.get());

  crypt_device* raw = nullptr;
  if (int rc = cryptsetup::api().crypt_init(&raw, header_path.c_str()); rc < 0)
    return std::unexpected(crypt_error("image.luks.init", "libcryptsetup cannot open the header file " + header_path.string(), rc));
  Crypt cd(raw);

  auto unlock_pbkdf = pbkdf_of(options.unlock_cost);
  crypt_params_luks2 params{};
  params.pbkdf = &unlock_pbkdf;
  params.sector_size = options.sector_size;
  params.label = options.label.empty() ? nullptr : options.label.c_str();
  params.data_alignment = header_area / 512;
  if (int rc = cryptsetup::api().crypt_format(cd.get(), CRYPT_LUKS2, "aes", "xts-plain64",
                            seed_uuid.empty() ? nullptr : seed_uuid.c_str(),
                            options.reproducible ? reinterpret_cast<const char*>(vk.bytes) : nullptr,
                            vk.size, &params);
      rc < 0)
    return std::unexpected(crypt_error("image.luks.format", "crypt_format", rc));

  LuksInfo info;
  info.sector_size = options.sector_size;
  info.payload_bytes = payload;
  info.uuid = cryptsetup::api().crypt_get_uuid(cd.get());
  info.data_offset = cryptsetup::api().crypt_get_data_offset(cd.get()) * 512;
  if (info.data_offset != header_area) // the plaintext already lies there
    return core::fail(Category::failed, "image.luks.data_offset",
                      "libcryptsetup put the data area at byte " + std::to_string(info.data_offset) +
                          ", not at " + std::to_string(header_area) + " where the filesystem was written");

  auto key = unlock_key.reveal();
  info.unlock_keyslot =
      cryptsetup::api().crypt_keyslot_add_by_volume_key(cd.get(), CRYPT_ANY_SLOT, nullptr, 0, key.data(), key.size());
  if (info.unlock_keyslot < 0)
    return std::unexpected(crypt_error("image.luks.keyslot", "adding the unlock keyslot", info.unlock_keyslot));
  if (has_recovery) {
    auto recovery_pbkdf = pbkdf_of(options.recovery_cost);
    if (int rc = cryptsetup::api().crypt_set_pbkdf_type(cd.get(), &recovery_pbkdf); rc < 0)
      return std::unexpected(crypt_error("image.luks.pbkdf", "setting the recovery keyslot cost", rc));
    auto pass = recovery->reveal();
    info.recovery_keyslot = cryptsetup::api().crypt_keyslot_add_by_volume_key(cd.get(), CRYPT_ANY_SLOT, nullptr, 0,
                                                            pass.data(), pass.size());
    if (info.recovery_keyslot < 0)
      return std::unexpected(crypt_error("image.luks.keyslot", "adding the recovery keyslot", info.recovery_keyslot));
  }

  if (options.reproducible) {
    cd.reset();
    std::vector<DeterministicKeyslot> slots{fixed_keyslot(info.unlock_keyslot, key, options.unlock_cost)};
    if (has_recovery)
      slots.push_back(fixed_keyslot(info.recovery_keyslot, recovery->reveal(), options.recovery_cost));
    TDX_TRY(make_luks_deterministic(header_path, seed_of(seed, seed_uuid), {vk.bytes, vk.size}, slots));
    // Checked here, before the data area, so a bad header never gets that far.
    TDX_TRY(verify_reproducible(header_path, header.get(), info, vk, key, recovery));
  } else {
    // Unlocking the fresh keyslot proves the header is complete before any data is written.
    if (int rc = cryptsetup::api().crypt_volume_key_get(cd.get(), info.unlock_keyslot, reinterpret_cast<char*>(vk.bytes),
                                      &vk.size, key.data(), key.size());
        rc < 0)
      return std::unexpected(crypt_error("image.luks.volume_key", "reading back the volume key", rc));
    cd.reset();
  }
  XtsJob job;
  job.in_fd = in_fd;
  job.in_offset = in_offset;
  job.out_fd = out_fd;
  job.out_offset = volume_offset + info.data_offset;
  job.length = payload;
  job.sector_size = options.sector_size;
  job.threads = options.threads;
  TDX_TRY(xts_encrypt(job, {vk.bytes, vk.size}, progress));
  if (fsync(out_fd) != 0 || !core::copy_bytes(header.get(), 0, out_fd, volume_offset, header_area) ||
      fsync(out_fd) != 0)
    return core::fail(Category::failed, "image.luks.write", shown + ": " + std::strerror(errno));
  return info;
}

} // namespace

core::Result<LuksInfo> write_luks_volume(const std::filesystem::path& plaintext,
                                         const std::filesystem::path& output,
                                         const core::Secret& unlock_key,
                                         const core::Secret* recovery, const LuksOptions& options,
                                         core::ProgressSink& progress) {
  core::UniqueFd in(::open(plaintext.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0)
    return core::fail(Category::invalid_input, "image.plaintext.open",
                      plaintext.string() + ": " + std::strerror(errno));
  struct stat st{};
  fstat(in.get(), &st);
  auto payload = static_cast<uint64_t>(st.st_size);
  TDX_TRY(check_request(payload, unlock_key, recovery, options, plaintext.string()));
  core::UniqueFd out(::open(output.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (out.get() < 0 || ftruncate(out.get(), static_cast<off_t>(luks_volume_size(payload))) != 0)
    return core::fail(Category::failed, "image.luks.create", output.string() + ": " + std::strerror(errno));
  auto info = format_and_encrypt(in.get(), 0, out.get(), 0, payload, output.string(), unlock_key, recovery,
                                 options, progress);
  if (!info) ::unlink(output.c_str()); // no half-written volume under its name
  return info;
}

core::Result<LuksInfo> encrypt_luks_in_place(const std::filesystem::path& image, uint64_t volume_offset,
                                             uint64_t payload, const core::Secret& unlock_key,
                                             const core::Secret* recovery, const LuksOptions& options,
                                             core::ProgressSink& progress) {
  TDX_TRY(check_request(payload, unlock_key, recovery, options, image.string() + " (LUKS2 data area)"));
  core::UniqueFd disk(::open(image.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW));
  struct stat st{};
  if (disk.get() < 0 || fstat(disk.get(), &st) != 0)
    return core::fail(Category::failed, "image.luks.open", image.string() + ": " + std::strerror(errno));
  if (static_cast<uint64_t>(st.st_size) < volume_offset + luks_volume_size(payload))
    return core::fail(Category::failed, "image.luks.too_small",
                      image.string() + ": " + std::to_string(st.st_size) + " bytes, the LUKS2 volume needs " +
                          std::to_string(luks_volume_size(payload)) + " from byte " + std::to_string(volume_offset));
  return format_and_encrypt(disk.get(), volume_offset + header_area, disk.get(), volume_offset, payload,
                            image.string(), unlock_key, recovery, options, progress);
}

core::Result<core::Json> read_luks_header(const std::filesystem::path& volume) {
  crypt_device* raw = nullptr;
  if (int rc = cryptsetup::api().crypt_init(&raw, volume.c_str()); rc < 0)
    return std::unexpected(crypt_error("image.luks.init", "cannot open " + volume.string(), rc));
  Crypt cd(raw);
  if (cryptsetup::api().crypt_load(cd.get(), CRYPT_LUKS2, nullptr) < 0)
    return core::fail(Category::invalid_input, "image.luks.not_luks2",
                      volume.string() + ": no valid LUKS2 header");
  core::Json keyslots = core::Json::array();
  for (int slot = 0; slot < cryptsetup::api().crypt_keyslot_max(CRYPT_LUKS2); ++slot) {
    auto state = cryptsetup::api().crypt_keyslot_status(cd.get(), slot);
    if (state != CRYPT_SLOT_ACTIVE && state != CRYPT_SLOT_ACTIVE_LAST) continue;
    core::Json ks{{"slot", slot}};
    crypt_pbkdf_type p{};
    if (cryptsetup::api().crypt_keyslot_get_pbkdf(cd.get(), slot, &p) == 0) {
      ks["pbkdf"] = p.type ? p.type : "";
      ks["iterations"] = p.iterations;
      ks["memory_kib"] = p.max_memory_kb;
      ks["parallel"] = p.parallel_threads;
    }
    keyslots.push_back(ks);
  }
  const char* label = cryptsetup::api().crypt_get_label(cd.get());
  core::Json j{{"uuid", cryptsetup::api().crypt_get_uuid(cd.get())},
               {"type", "luks2"},
               {"cipher", std::string(cryptsetup::api().crypt_get_cipher(cd.get())) + "-" + cryptsetup::api().crypt_get_cipher_mode(cd.get())},
               {"key_bits", cryptsetup::api().crypt_get_volume_key_size(cd.get()) * 8},
               {"sector_size", cryptsetup::api().crypt_get_sector_size(cd.get())},
               {"data_offset", cryptsetup::api().crypt_get_data_offset(cd.get()) * 512},
               {"label", label ? label : ""},
               {"keyslots", keyslots}};
  return j;
}

} // namespace tdx::image
