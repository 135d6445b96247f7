// Making a LUKS2 volume reproducible after libcryptsetup formatted it. The
// layout follows the LUKS2 on-disk format specification and what
// libcryptsetup does (lib/luks2, lib/luks1/af.c), re-derived here:
//
//   0        primary binary header (4096 bytes) + JSON area, hdr_size bytes
//   hdr_size secondary copy: same JSON, its own salt, magic "SKUL\xba\xbe"
//   2*hdr_size .. +config.keyslots_size  keyslots area, random-filled at format;
//            each keyslot's area holds AF-split(volume key) encrypted with
//            area.encryption (512-byte sectors, IV = sector from the area's
//            start) under argon2id(passphrase, kdf.salt)
//
// Each header's checksum is SHA-256 over its binary header (checksum field
// zeroed) followed by its whole JSON area, padding included.
//
// The anti-forensic split (af.c): stripes 0..n-2 are random, a running buffer
// b starts at zero and for each of them becomes diffuse(b XOR stripe); the
// last stripe is key XOR b. diffuse hashes each digest-sized block j of b as
// H(be32(j) || block), truncated for a short last block.
#include "tdxctl/image/luks_deterministic.hpp"

#include "tdxctl/argon2/api.hpp"
#include "tdxctl/core/fs.hpp"
#include "tdxctl/core/hex.hpp"
#include "tdxctl/core/unique_fd.hpp"
#include "tdxctl/core/output.hpp"
#include "tdxctl/image/xts_encrypt.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

namespace tdx::image {
namespace {

using core::Category;
using core::Json;

constexpr size_t bin_header = 4096;      // binary part of each header copy
constexpr size_t off_hdr_size = 8;       // be64
constexpr size_t off_checksum_alg = 72;  // char[32]
constexpr size_t off_salt = 104;         // uint8[64]
constexpr size_t off_csum = 448;         // uint8[64]
constexpr size_t salt_bytes = 64;
constexpr size_t csum_bytes = 64;
constexpr size_t kdf_salt_bytes = 32;    // LUKS_SALTSIZE: keyslot and digest salts
constexpr uint32_t sector = 512;         // keyslot areas are encrypted in 512-byte sectors
constexpr size_t fill_chunk = 1u << 20;

core::Error error(const std::string& message) {
  return core::Error{Category::failed, "image.luks.reproducible", message, {}};
}

core::Error io_error(const std::filesystem::path& path, const std::string& what) {
  return error(path.string() + ": " + what + ": " + std::strerror(errno));
}

// Key material: locked in RAM and wiped when dropped. The lock is best
// effort (RLIMIT_MEMLOCK may refuse the AF buffer); the wipe is not.
class Locked {
public:
  explicit Locked(size_t size) : m_bytes(size) {
    m_locked = size != 0 && mlock(m_bytes.data(), size) == 0;
  }
  ~Locked() {
    OPENSSL_cleanse(m_bytes.data(), m_bytes.size());
    if (m_locked) munlock(m_bytes.data(), m_bytes.size());
  }
  Locked(const Locked&) = delete;
  Locked& operator=(const Locked&) = delete;
  unsigned char* data() { return m_bytes.data(); }
  size_t size() const { return m_bytes.size(); }
  std::span<unsigned char> span() { return m_bytes; }

private:
  std::vector<unsigned char> m_bytes;
  bool m_locked = false;
};

core::Result<void> hkdf(std::span<const unsigned char> key, std::string_view salt,
                        std::string_view info, std::span<unsigned char> out) {
  std::unique_ptr<EVP_KDF, decltype(&EVP_KDF_free)> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr),
                                                         EVP_KDF_free);
  std::unique_ptr<EVP_KDF_CTX, decltype(&EVP_KDF_CTX_free)> ctx(
      kdf ? EVP_KDF_CTX_new(kdf.get()) : nullptr, EVP_KDF_CTX_free);
  if (!ctx) return std::unexpected(error("OpenSSL has no HKDF"));
  OSSL_PARAM params[5];
  size_t n = 0;
  params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>("SHA256"), 0);
  params[n++] = OSSL_PARAM_construct_octet_string(
      OSSL_KDF_PARAM_KEY, const_cast<unsigned char*>(key.data()), key.size());
  // No salt means HKDF's default (hash-length zeros), not an empty octet string.
  if (!salt.empty())
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<char*>(salt.data()),
                                                    salt.size());
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(info.data()),
                                                  info.size());
  params[n] = OSSL_PARAM_construct_end();
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1)
    return std::unexpected(error("HKDF-SHA256 failed for \"" + std::string(info) + "\""));
  return {};
}

std::span<const unsigned char> bytes_of(std::string_view s) {
  return {reinterpret_cast<const unsigned char*>(s.data()), s.size()};
}

// A keystream: AES-256-CTR under a derived key, from a zero IV. Stands in for
// libcryptsetup's random bytes wherever more than a salt's worth is needed.
class Stream {
public:
  static core::Result<Stream> make(const LuksSeed& seed, std::string_view label) {
    Locked key(32);
    TDX_TRY(derive_luks_bytes(seed, label, key.span()));
    Stream s;
    unsigned char iv[16] = {};
    if (!s.m_ctx || EVP_EncryptInit_ex(s.m_ctx.get(), EVP_aes_256_ctr(), nullptr, key.data(), iv) != 1)
      return std::unexpected(error("AES-256-CTR setup failed"));
    return s;
  }
  // The next out.size() bytes of the stream.
  core::Result<void> fill(std::span<unsigned char> out) {
    std::fill(out.begin(), out.end(), 0);
    int len = 0;
    if (EVP_EncryptUpdate(m_ctx.get(), out.data(), &len, out.data(), static_cast<int>(out.size())) != 1 ||
        static_cast<size_t>(len) != out.size())
      return std::unexpected(error("AES-256-CTR failed"));
    return {};
  }

private:
  Stream() : m_ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free) {}
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> m_ctx;
};

core::Result<void> diffuse(std::span<unsigned char> buf, const EVP_MD* md) {
  const size_t digest = static_cast<size_t>(EVP_MD_get_size(md));
  unsigned char h[EVP_MAX_MD_SIZE];
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  bool ok = ctx != nullptr;
  for (size_t j = 0; ok && j * digest < buf.size(); ++j) {
    size_t len = std::min(digest, buf.size() - j * digest);
    unsigned char iv[4] = {static_cast<unsigned char>(j >> 24), static_cast<unsigned char>(j >> 16),
                           static_cast<unsigned char>(j >> 8), static_cast<unsigned char>(j)};
    ok = EVP_DigestInit_ex(ctx.get(), md, nullptr) == 1 && EVP_DigestUpdate(ctx.get(), iv, 4) == 1 &&
         EVP_DigestUpdate(ctx.get(), buf.data() + j * digest, len) == 1 &&
         EVP_DigestFinal_ex(ctx.get(), h, nullptr) == 1;
    if (ok) std::memcpy(buf.data() + j * digest, h, len);
  }
  OPENSSL_cleanse(h, sizeof h);
  if (!ok) return std::unexpected(error("AF diffuse: hashing failed"));
  return {};
}

// AF-split `key` into `out` (stripes * key.size() bytes), stripes from `stream`.
core::Result<void> af_split(std::span<const unsigned char> key, size_t stripes, const EVP_MD* md,
                            Stream& stream, std::span<unsigned char> out) {
  const size_t n = key.size();
  Locked acc(n);
  for (size_t i = 0; i + 1 < stripes; ++i) {
    auto stripe = out.subspan(i * n, n);
    TDX_TRY(stream.fill(stripe));
    for (size_t k = 0; k < n; ++k) acc.data()[k] ^= stripe[k];
    TDX_TRY(diffuse(acc.span(), md));
  }
  auto last = out.subspan((stripes - 1) * n, n);
  for (size_t k = 0; k < n; ++k) last[k] = key[k] ^ acc.data()[k];
  return {};
}

uint64_t be64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | p[i];
  return v;
}

// LUKS2 writes offsets and sizes as decimal strings (JSON numbers lose
// precision past 2^53), small counts as numbers; accept both.
uint64_t u64_of(const Json& j) {
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    size_t used = 0;
    uint64_t v = std::stoull(s, &used);
    if (used != s.size()) throw std::invalid_argument("not a decimal number: " + s);
    return v;
  }
  return j.get<uint64_t>();
}

core::Result<void> pwrite_all(int fd, const std::filesystem::path& path, const unsigned char* data,
                              size_t size, uint64_t offset) {
  if (!core::pwrite_full(fd, data, size, offset))
    return std::unexpected(io_error(path, "writing at byte " + std::to_string(offset)));
  return {};
}

core::Result<void> pread_all(int fd, const std::filesystem::path& path, unsigned char* data,
                             size_t size, uint64_t offset) {
  if (core::pread_full(fd, data, size, offset)) return {};
  if (errno == ENODATA)
    return std::unexpected(error(path.string() + ": ends before byte " + std::to_string(offset + size)));
  return std::unexpected(io_error(path, "reading at byte " + std::to_string(offset)));
}

// One header copy as read: binary part and JSON area.
struct HeaderCopy {
  std::vector<unsigned char> bin = std::vector<unsigned char>(bin_header);
  std::vector<unsigned char> json;
};

core::Result<HeaderCopy> read_copy(int fd, const std::filesystem::path& path, uint64_t offset,
                                   const char* magic, uint64_t expect_size) {
  HeaderCopy c;
  TDX_TRY(pread_all(fd, path, c.bin.data(), c.bin.size(), offset));
  const char* which = offset == 0 ? "primary" : "secondary";
  if (std::memcmp(c.bin.data(), magic, 6) != 0 || c.bin[6] != 0 || c.bin[7] != 2)
    return std::unexpected(error(path.string() + ": no LUKS2 " + which + " header at byte " +
                                 std::to_string(offset)));
  uint64_t size = be64(c.bin.data() + off_hdr_size);
  if (size <= bin_header || size > (4u << 20) || (expect_size && size != expect_size))
    return std::unexpected(error(path.string() + ": " + which + " header size " + std::to_string(size) +
                                 " is not usable"));
  const char* alg = reinterpret_cast<const char*>(c.bin.data() + off_checksum_alg);
  if (std::string_view(alg, strnlen(alg, 32)) != "sha256")
    return std::unexpected(error(path.string() + ": " + which + " header checksum is not sha256"));
  c.json.resize(size - bin_header);
  TDX_TRY(pread_all(fd, path, c.json.data(), c.json.size(), offset + bin_header));
  return c;
}

// Sets the copy's salt and JSON area and recomputes its checksum.
core::Result<void> seal_copy(HeaderCopy& c, std::span<const unsigned char> salt,
                             const std::vector<unsigned char>& json_area) {
  std::copy(salt.begin(), salt.end(), c.bin.begin() + off_salt);
  c.json = json_area;
  std::fill_n(c.bin.begin() + off_csum, csum_bytes, 0);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), c.bin.data(), c.bin.size()) != 1 ||
      EVP_DigestUpdate(ctx.get(), c.json.data(), c.json.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), digest, &len) != 1)
    return std::unexpected(error("SHA-256 of the header failed"));
  std::copy_n(digest, len, c.bin.begin() + off_csum);
  return {};
}

core::Result<std::vector<unsigned char>> decode(const Json& text, const std::string& what) {
  auto b = core::base64_decode(text.get<std::string>(), what);
  if (!b) return std::unexpected(error(b.error().message));
  return std::move(*b);
}

const EVP_MD* digest_named(const std::string& name) {
  return EVP_get_digestbyname(name.c_str());
}

// Re-derives one keyslot: new salt, the requested cost, its area rewritten.
core::Result<void> rederive_keyslot(int fd, const std::filesystem::path& path, const LuksSeed& seed,
                                    int slot, Json& ks, const DeterministicKeyslot& want,
                                    std::span<const unsigned char> volume_key) {
  const std::string name = "keyslot " + std::to_string(slot);
  auto& kdf = ks.at("kdf");
  auto& af = ks.at("af");
  auto& area = ks.at("area");
  if (ks.at("type") != "luks2" || kdf.at("type") != "argon2id" || af.at("type") != "luks1" ||
      area.at("type") != "raw" || area.at("encryption") != "aes-xts-plain64" ||
      area.at("key_size") != 64)
    return std::unexpected(error(name + ": only luks2 keyslots with argon2id, luks1 AF and a raw "
                                        "aes-xts-plain64 area with a 512-bit key can be re-derived"));
  if (u64_of(ks.at("key_size")) != volume_key.size())
    return std::unexpected(error(name + ": its key size differs from the volume key's"));
  if (want.memory_kib) kdf["memory"] = want.memory_kib;
  if (want.parallel_threads) kdf["cpus"] = want.parallel_threads;

  std::vector<unsigned char> salt(kdf_salt_bytes);
  TDX_TRY(derive_luks_bytes(seed, "tdxctl luks2 keyslot " + std::to_string(slot) + " salt", salt));
  kdf["salt"] = core::base64_encode(salt);

  const uint64_t stripes = u64_of(af.at("stripes"));
  const EVP_MD* af_md = digest_named(af.at("hash").get<std::string>());
  const uint64_t offset = u64_of(area.at("offset")), area_size = u64_of(area.at("size"));
  const size_t material = stripes * volume_key.size();
  const size_t padded = (material + sector - 1) / sector * sector;
  if (!af_md || stripes < 1 || stripes > 65536 || padded > area_size)
    return std::unexpected(error(name + ": unusable AF parameters or area size"));

  Locked split(padded); // the tail past `material` stays zero, as libcryptsetup leaves it
  auto stream = Stream::make(seed, "tdxctl luks2 keyslot " + std::to_string(slot) + " af stripes");
  if (!stream) return std::unexpected(stream.error());
  TDX_TRY(af_split(volume_key, stripes, af_md, *stream, split.span().first(material)));

  Locked area_key(64);
  int rc = argon2::api().argon2id_hash_raw(kdf.at("time").get<uint32_t>(), kdf.at("memory").get<uint32_t>(),
                             kdf.at("cpus").get<uint32_t>(), want.passphrase.data(), want.passphrase.size(),
                             salt.data(), salt.size(), area_key.data(), area_key.size());
  if (rc != ARGON2_OK)
    return std::unexpected(error(name + ": argon2id failed: " + argon2::api().argon2_error_message(rc)));
  std::vector<unsigned char> sealed(padded);
  auto enc = xts_encrypt_buffer(area_key.span(), sector, 0, split.span(), sealed);
  if (!enc) return std::unexpected(error(name + ": " + enc.error().message));
  return pwrite_all(fd, path, sealed.data(), sealed.size(), offset);
}

// Re-derives one PBKDF2 digest of the volume key over a new salt, after
// checking that `volume_key` is the key the digest was made for.
core::Result<void> rederive_digest(const LuksSeed& seed, const std::string& id, Json& d,
                                   std::span<const unsigned char> volume_key) {
  const std::string name = "digest " + id;
  if (d.at("type") != "pbkdf2") return std::unexpected(error(name + ": not a pbkdf2 digest"));
  const EVP_MD* md = digest_named(d.at("hash").get<std::string>());
  const uint64_t iterations = u64_of(d.at("iterations"));
  auto old_salt = decode(d.at("salt"), name + " salt");
  auto old_digest = decode(d.at("digest"), name + " value");
  if (!old_salt) return std::unexpected(old_salt.error());
  if (!old_digest) return std::unexpected(old_digest.error());
  if (!md || iterations == 0 || iterations > INT32_MAX || old_digest->empty())
    return std::unexpected(error(name + ": unusable hash or iteration count"));
  auto pbkdf2 = [&](std::span<const unsigned char> salt, std::span<unsigned char> out) {
    return PKCS5_PBKDF2_HMAC(reinterpret_cast<const char*>(volume_key.data()),
                             static_cast<int>(volume_key.size()), salt.data(), static_cast<int>(salt.size()),
                             static_cast<int>(iterations), md, static_cast<int>(out.size()), out.data()) == 1;
  };
  std::vector<unsigned char> check(old_digest->size());
  if (!pbkdf2(*old_salt, check) || CRYPTO_memcmp(check.data(), old_digest->data(), check.size()) != 0)
    return std::unexpected(error(name + ": the volume key given does not match the volume"));

  std::vector<unsigned char> salt(kdf_salt_bytes);
  TDX_TRY(derive_luks_bytes(seed, "tdxctl luks2 digest " + id + " salt", salt));
  if (!pbkdf2(salt, check)) return std::unexpected(error(name + ": PBKDF2 failed"));
  d["salt"] = core::base64_encode(salt);
  d["digest"] = core::base64_encode(check);
  return {};
}

// Overwrites the whole keyslots area with the derived stream, standing in for
// the random wipe at format (which hides how many keyslots are in use).
core::Result<void> fill_keyslots_area(int fd, const std::filesystem::path& path, const LuksSeed& seed,
                                      uint64_t offset, uint64_t size) {
  auto stream = Stream::make(seed, "tdxctl luks2 keyslots area");
  if (!stream) return std::unexpected(stream.error());
  std::vector<unsigned char> buf(fill_chunk);
  for (uint64_t done = 0; done < size;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(fill_chunk, size - done));
    TDX_TRY(stream->fill({buf.data(), n}));
    TDX_TRY(pwrite_all(fd, path, buf.data(), n, offset + done));
    done += n;
  }
  return {};
}

} // namespace

core::Result<void> derive_luks_bytes(const LuksSeed& seed, std::string_view label,
                                     std::span<unsigned char> out) {
  if (seed.unlock_key.empty()) return std::unexpected(error("no unlock key to derive from"));
  return hkdf(bytes_of(seed.unlock_key), seed.uuid, label, out);
}

core::Result<void> derive_volume_key(const LuksSeed& seed, std::span<unsigned char> out) {
  return derive_luks_bytes(seed, "tdxctl luks2 volume key", out);
}

core::Result<std::string> derive_luks_uuid(std::string_view unlock_key) {
  unsigned char b[16];
  TDX_TRY(derive_luks_bytes({unlock_key, {}}, "tdxctl luks2 uuid", b));
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40); // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80); // RFC 4122 variant
  auto hex = core::to_hex(b);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" + hex.substr(16, 4) +
         "-" + hex.substr(20);
}

core::Result<void> make_luks_deterministic(const std::filesystem::path& volume, const LuksSeed& seed,
                                           std::span<const unsigned char> volume_key,
                                           std::span<const DeterministicKeyslot> keyslots) {
  core::UniqueFd fd(::open(volume.c_str(), O_RDWR | O_CLOEXEC));
  if (fd.get() < 0) return std::unexpected(io_error(volume, "open"));
  auto primary = read_copy(fd.get(), volume, 0, "LUKS\xba\xbe", 0);
  if (!primary) return std::unexpected(primary.error());
  const uint64_t hdr_size = primary->json.size() + bin_header;
  auto secondary = read_copy(fd.get(), volume, hdr_size, "SKUL\xba\xbe", hdr_size);
  if (!secondary) return std::unexpected(secondary.error());

  const auto& area = primary->json;
  auto text_end = std::find(area.begin(), area.end(), 0);
  Json j = Json::parse(area.begin(), text_end, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return std::unexpected(error(volume.string() + ": the LUKS2 JSON area does not parse"));

  try {
    TDX_TRY(fill_keyslots_area(fd.get(), volume, seed, 2 * hdr_size, u64_of(j.at("config").at("keyslots_size"))));

    for (auto& [id, ks] : j.at("keyslots").items()) {
      int slot = std::stoi(id);
      auto want = std::find_if(keyslots.begin(), keyslots.end(),
                               [&](const DeterministicKeyslot& k) { return k.slot == slot; });
      if (want == keyslots.end())
        return std::unexpected(error("keyslot " + id + " has no passphrase to re-derive it with"));
      TDX_TRY(rederive_keyslot(fd.get(), volume, seed, slot, ks, *want, volume_key));
    }
    for (const auto& want : keyslots)
      if (!j.at("keyslots").contains(std::to_string(want.slot)))
        return std::unexpected(error("keyslot " + std::to_string(want.slot) + " is not in the volume"));

    if (j.at("digests").size() != 1)
      return std::unexpected(error("expected exactly one digest (one volume key), found " +
                                   std::to_string(j.at("digests").size())));
    for (auto& [id, d] : j.at("digests").items()) TDX_TRY(rederive_digest(seed, id, d, volume_key));
  } catch (const std::exception& e) {
    // nlohmann's type/out_of_range errors and stoull's: a header this code does not understand.
    return std::unexpected(error(volume.string() + ": unexpected LUKS2 JSON: " + e.what()));
  }

  // Compact JSON (nlohmann keeps the key order it parsed), NUL-padded: the
  // area must end in at least one NUL for libcryptsetup.
  std::string text = j.dump();
  if (text.size() >= area.size())
    return std::unexpected(error("the rewritten JSON (" + std::to_string(text.size()) +
                                 " bytes) does not fit the " + std::to_string(area.size()) + "-byte area"));
  std::vector<unsigned char> json_area(area.size(), 0);
  std::copy(text.begin(), text.end(), json_area.begin());

  std::vector<unsigned char> salt(salt_bytes);
  TDX_TRY(derive_luks_bytes(seed, "tdxctl luks2 header salt primary", salt));
  TDX_TRY(seal_copy(*primary, salt, json_area));
  TDX_TRY(derive_luks_bytes(seed, "tdxctl luks2 header salt secondary", salt));
  TDX_TRY(seal_copy(*secondary, salt, json_area));
  for (auto* c : {&*primary, &*secondary}) {
    uint64_t at = c == &*primary ? 0 : hdr_size;
    TDX_TRY(pwrite_all(fd.get(), volume, c->bin.data(), c->bin.size(), at));
    TDX_TRY(pwrite_all(fd.get(), volume, c->json.data(), c->json.size(), at + bin_header));
  }
  if (fsync(fd.get()) != 0) return std::unexpected(io_error(volume, "fsync"));
  return {};
}

core::Result<void> stretch_luks_seed(std::string_view unlock_key, std::string_view uuid, std::string_view context,
                                     uint32_t time, uint32_t memory_kib, uint32_t lanes,
                                     std::span<unsigned char> out) {
  std::string salt = "tdxctl luks2 seed\n" + std::string(uuid) + "\n" + std::string(context);
  unsigned char salt_digest[32];
  SHA256(reinterpret_cast<const unsigned char*>(salt.data()), salt.size(), salt_digest);
  int rc = argon2::api().argon2id_hash_raw(time, memory_kib, std::clamp<uint32_t>(lanes, 1, 4), unlock_key.data(),
                             unlock_key.size(), salt_digest, sizeof salt_digest, out.data(), out.size());
  if (rc != ARGON2_OK)
    return core::fail(core::Category::failed, "image.luks.reproducible",
                      std::string("stretching the unlock key (argon2id) failed: ") + argon2::api().argon2_error_message(rc));
  return {};
}

} // namespace tdx::image
