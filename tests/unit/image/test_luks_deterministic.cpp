// image/: reproducible LUKS2 volumes (issue 21). Two builds with the same
// key are compared byte for byte; libcryptsetup (not our own parser) opens
// the keyslots, and OpenSSL's XTS (not xts_encrypt.cpp) decrypts the data.
#include "support/fixtures.hpp"
#include "tdxctl/image/luks_deterministic.hpp"
#include "tdxctl/image/luks_writer.hpp"

#include <catch2/catch.hpp>

#include <libcryptsetup.h>
#include <openssl/evp.h>

#include <algorithm>
#include <memory>
#include <string>

using namespace tdx;
namespace fs = std::filesystem;

namespace {

const std::string uuid = "5c0ffee0-1c3d-4e5f-8a9b-0c1d2e3f4a5b";
// 32 random bytes in hex, as `tdxctl image build` makes the unlock key.
const std::string key_a = "8d2f61c0a94e3b7f05d1e6a28c4b97f3e0a5d2c18b7f4e69a3c05d2e1f8b7a64";
const std::string key_b = "3e9a07c5d1f2b84e6a0c9d3f7b5e21a4c8d06f9e2b1a73c5e4d80f6a9b2c1d37";
const std::string recovery_pass = "correct horse battery staple";
constexpr size_t header_bytes = image::luks_header_bytes; // primary + secondary + keyslots area

// Small argon2 costs for speed; the recovery slot asks for 4 lanes, which
// libcryptsetup alone would lower to the CPU count of a smaller host.
image::LuksOptions options(bool reproducible) {
  image::LuksOptions o;
  o.uuid = uuid;
  o.label = "tdx-root";
  o.unlock_cost = {0, 4, 32768, 1};
  o.recovery_cost = {0, 4, 32768, 4};
  o.threads = 2;
  o.reproducible = reproducible;
  return o;
}

// 4 MiB of non-zero, non-repeating data.
fs::path make_plaintext(const fs::path& dir) {
  std::string data(4u << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i)
    data[i] = static_cast<char>(((i * 2654435761u) >> 11) | 1);
  test::put(dir, "plain.img", data);
  return dir / "plain.img";
}

struct Built {
  fs::path path;
  image::LuksInfo info;
  std::string bytes;
};

Built build(const fs::path& plain, const fs::path& out, const std::string& key, bool with_recovery,
            const image::LuksOptions& o) {
  core::Secret unlock{std::string(key)}, recovery{std::string(recovery_pass)};
  core::NullProgress progress;
  auto info = image::write_luks_volume(plain, out, unlock, with_recovery ? &recovery : nullptr, o, progress);
  if (!info) FAIL(info.error().code << ": " << info.error().message);
  auto bytes = core::read_file(out);
  REQUIRE(bytes);
  return {out, *info, std::move(*bytes)};
}

// The first offset where a and b differ (npos: none), so a failure names a byte.
size_t first_difference(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return std::min(a.size(), b.size());
  auto m = std::mismatch(a.begin(), a.end(), b.begin());
  return m.first == a.end() ? std::string::npos : static_cast<size_t>(m.first - a.begin());
}

struct CryptFree {
  void operator()(crypt_device* cd) const { crypt_free(cd); }
};

// What libcryptsetup unlocks from `slot` with `pass` ("" when it refuses).
std::string volume_key_of(const fs::path& volume, int slot, const std::string& pass) {
  crypt_device* raw = nullptr;
  REQUIRE(crypt_init(&raw, volume.c_str()) == 0);
  std::unique_ptr<crypt_device, CryptFree> cd(raw);
  if (crypt_load(cd.get(), CRYPT_LUKS2, nullptr) != 0) return "";
  std::string vk(64, '\0');
  size_t size = vk.size();
  if (crypt_volume_key_get(cd.get(), slot, vk.data(), &size, pass.data(), pass.size()) < 0) return "";
  vk.resize(size);
  return vk;
}

// The seed write_luks_volume stretches from `key` at the unlock keyslot's cost.
std::string seed_of(const std::string& key, const std::string& volume_uuid) {
  auto o = options(true);
  std::string seed(32, '\0');
  REQUIRE(image::stretch_luks_seed(key, volume_uuid, o.seed_context, o.unlock_cost.iterations,
                                   o.unlock_cost.memory_kib, o.unlock_cost.parallel_threads,
                                   {reinterpret_cast<unsigned char*>(seed.data()), seed.size()}));
  return seed;
}

std::string derived_key(const std::string& key) {
  std::string vk(64, '\0');
  auto seed = seed_of(key, uuid);
  REQUIRE(image::derive_volume_key({seed, uuid}, {reinterpret_cast<unsigned char*>(vk.data()), vk.size()}));
  return vk;
}

// The data area decrypted with OpenSSL's AES-256-XTS, 4096-byte sectors whose
// tweak is the plain64 IV: the sector's byte offset / 512, little-endian.
std::string decrypt_data(const Built& v, const std::string& vk) {
  std::string plain(v.bytes.size() - v.info.data_offset, '\0');
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(),
                                                                      EVP_CIPHER_CTX_free);
  auto* in = reinterpret_cast<const unsigned char*>(v.bytes.data() + v.info.data_offset);
  bool ok = ctx != nullptr;
  for (size_t off = 0; ok && off < plain.size(); off += 4096) {
    unsigned char iv[16] = {};
    uint64_t unit = off / 512;
    for (int i = 0; i < 8; ++i) iv[i] = static_cast<unsigned char>(unit >> (8 * i));
    int len = 0;
    ok = EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_xts(), nullptr,
                            reinterpret_cast<const unsigned char*>(vk.data()), iv) == 1 &&
         EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(plain.data() + off), &len, in + off,
                           4096) == 1 &&
         len == 4096;
  }
  REQUIRE(ok);
  return plain;
}

} // namespace

TEST_CASE("reproducible LUKS2 volumes of the same plaintext and key are byte-identical",
          "[luks][reproducible]") {
  core::TempDir dir;
  auto plain = make_plaintext(dir.path());
  auto a = build(plain, dir / "a.luks", key_a, true, options(true));
  auto b = build(plain, dir / "b.luks", key_a, true, options(true));
  REQUIRE(a.bytes.size() == header_bytes + (4u << 20));
  CHECK(first_difference(a.bytes, b.bytes) == std::string::npos);
  CHECK(a.info.uuid == uuid);
  CHECK(a.info.data_offset == header_bytes);
  REQUIRE(a.info.unlock_keyslot == 0);
  REQUIRE(a.info.recovery_keyslot == 1);

  // Both header copies carry the same JSON area (binary parts differ: magic, offset, salt).
  CHECK(a.bytes.compare(4096, 12288, a.bytes, 16384 + 4096, 12288) == 0);
  CHECK(a.bytes.compare(104, 64, a.bytes, 16384 + 104, 64) != 0);

  // libcryptsetup opens both keyslots and gets the key derived from the unlock key.
  auto vk = derived_key(key_a);
  CHECK(volume_key_of(a.path, 0, key_a) == vk);
  CHECK(volume_key_of(a.path, 1, recovery_pass) == vk);
  CHECK(volume_key_of(a.path, 0, key_b).empty());

  // The argon2 cost is the one asked for, not this host's CPU count.
  auto header = image::read_luks_header(a.path);
  REQUIRE(header);
  REQUIRE((*header)["keyslots"].size() == 2);
  CHECK((*header)["keyslots"][0]["parallel"] == 1);
  CHECK((*header)["keyslots"][1]["parallel"] == 4);
  CHECK((*header)["keyslots"][1]["memory_kib"] == 32768);
  CHECK((*header)["keyslots"][1]["iterations"] == 4);

  // The data area decrypts back to the plaintext.
  auto expect = core::read_file(plain);
  REQUIRE(expect);
  CHECK(first_difference(decrypt_data(a, vk), *expect) == std::string::npos);

  // The secondary header copy stands on its own: with the primary wiped,
  // libcryptsetup loads it (checksum, JSON) and the keyslots still open.
  std::string wiped = a.bytes.substr(0, header_bytes);
  std::fill_n(wiped.begin(), 4096, '\0');
  test::put(dir.path(), "secondary-only.luks", wiped);
  CHECK(volume_key_of(dir / "secondary-only.luks", 0, key_a) == vk);
}

TEST_CASE("a different unlock key gives a different reproducible LUKS2 header and data",
          "[luks][reproducible]") {
  core::TempDir dir;
  auto plain = make_plaintext(dir.path());
  auto a = build(plain, dir / "a.luks", key_a, true, options(true));
  auto c = build(plain, dir / "c.luks", key_b, true, options(true));
  REQUIRE(a.bytes.size() == c.bytes.size());
  CHECK(derived_key(key_a) != derived_key(key_b));
  CHECK(a.bytes.compare(0, 4096, c.bytes, 0, 4096) != 0);         // salt and checksum
  CHECK(a.bytes.compare(4096, 12288, c.bytes, 4096, 12288) != 0); // keyslot and digest salts
  CHECK(a.bytes.compare(32768, header_bytes - 32768, c.bytes, 32768, header_bytes - 32768) != 0);
  size_t same_sectors = 0;
  for (size_t off = header_bytes; off < a.bytes.size(); off += 4096)
    same_sectors += a.bytes.compare(off, 4096, c.bytes, off, 4096) == 0;
  CHECK(same_sectors == 0);
  CHECK(volume_key_of(c.path, 0, key_b) == derived_key(key_b));
  CHECK(volume_key_of(c.path, 1, recovery_pass) == derived_key(key_b));

  // The same key and UUID for other contents (another inputs digest): another volume key.
  auto other = options(true);
  other.seed_context = "another inputs digest";
  auto d = build(plain, dir / "d.luks", key_a, true, other);
  CHECK(volume_key_of(d.path, 0, key_a) != derived_key(key_a));
  CHECK(d.bytes.compare(header_bytes, 4096, a.bytes, header_bytes, 4096) != 0);
}

TEST_CASE("without reproducible, two LUKS2 volumes of the same input differ", "[luks][reproducible]") {
  core::TempDir dir;
  auto plain = make_plaintext(dir.path());
  auto a = build(plain, dir / "a.luks", key_a, true, options(false));
  auto b = build(plain, dir / "b.luks", key_a, true, options(false));
  REQUIRE(a.bytes.size() == b.bytes.size());
  CHECK(a.bytes.compare(0, header_bytes, b.bytes, 0, header_bytes) != 0);
  CHECK(a.bytes.compare(header_bytes, 4096, b.bytes, header_bytes, 4096) != 0);
  auto vk = volume_key_of(a.path, 0, key_a);
  CHECK(vk.size() == 64);
  CHECK(vk != derived_key(key_a));
  CHECK(volume_key_of(a.path, 1, recovery_pass) == vk);
}

TEST_CASE("a reproducible LUKS2 volume without a UUID gets one derived from the stretched key",
          "[luks][reproducible]") {
  core::TempDir dir;
  auto plain = make_plaintext(dir.path());
  auto o = options(true);
  o.uuid.clear();
  auto a = build(plain, dir / "a.luks", key_a, false, o);
  auto expect = image::derive_luks_uuid(seed_of(key_a, ""));
  REQUIRE(expect);
  CHECK(a.info.uuid == *expect);
  CHECK(expect->size() == 36);
  CHECK((*expect)[14] == '4');
  CHECK(a.info.recovery_keyslot == -1);
  CHECK(first_difference(a.bytes, build(plain, dir / "b.luks", key_a, false, o).bytes) == std::string::npos);
}

TEST_CASE("reproducible LUKS2 needs a fixed argon2 cost", "[luks][reproducible]") {
  core::TempDir dir;
  auto plain = make_plaintext(dir.path());
  core::Secret unlock{std::string(key_a)}, recovery{std::string(recovery_pass)};
  core::NullProgress progress;
  auto benchmarked = options(true);
  benchmarked.unlock_cost.iterations = 0;
  auto r = image::write_luks_volume(plain, dir / "a.luks", unlock, nullptr, benchmarked, progress);
  REQUIRE_FALSE(r);
  CHECK(r.error().category == core::Category::invalid_input);
  CHECK(r.error().message.find("fixed argon2 cost") != std::string::npos);
  CHECK(r.error().message.find("--argon2-iterations") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "a.luks"));

  // The recovery keyslot's cost counts too, when there is a recovery keyslot.
  benchmarked = options(true);
  benchmarked.recovery_cost.iterations = 0;
  r = image::write_luks_volume(plain, dir / "a.luks", unlock, &recovery, benchmarked, progress);
  REQUIRE_FALSE(r);
  CHECK(r.error().category == core::Category::invalid_input);
}

TEST_CASE("a LUKS2 volume made in place inside a disk image is the same volume, and the bytes around it stay",
          "[luks][reproducible]") {
  core::TempDir dir;
  auto plain = make_plaintext(dir.path());
  auto alone = build(plain, dir / "alone.luks", key_a, true, options(true));

  // A disk: 3 MiB of something else, the volume (plaintext already in its
  // data area, as image build's mke2fs leaves it), then 1 MiB more.
  const size_t before = 3u << 20, after = 1u << 20;
  auto text = core::read_file(plain);
  REQUIRE(text);
  std::string around(before + after, '\0');
  for (size_t i = 0; i < around.size(); ++i) around[i] = static_cast<char>((i * 40503u) >> 7);
  std::string disk = around.substr(0, before) + std::string(header_bytes, '\0') + *text + around.substr(before);
  test::put(dir.path(), "disk.raw", disk);

  core::Secret unlock{std::string(key_a)}, recovery{std::string(recovery_pass)};
  core::NullProgress progress;
  auto info = image::encrypt_luks_in_place(dir / "disk.raw", before, text->size(), unlock, &recovery,
                                           options(true), progress);
  REQUIRE(info);
  CHECK(info->uuid == alone.info.uuid);
  CHECK(info->data_offset == header_bytes);
  auto got = core::read_file(dir / "disk.raw");
  REQUIRE(got);
  REQUIRE(got->size() == disk.size());
  CHECK(first_difference(got->substr(before, alone.bytes.size()), alone.bytes) == std::string::npos);
  CHECK(got->substr(0, before) == around.substr(0, before));
  CHECK(got->substr(before + alone.bytes.size()) == around.substr(before));

  // A disk too short for the volume is refused before anything is written.
  test::put(dir.path(), "short.raw", disk.substr(0, disk.size() - after - 4096));
  auto short_disk = image::encrypt_luks_in_place(dir / "short.raw", before, text->size(), unlock, nullptr,
                                                 options(true), progress);
  REQUIRE_FALSE(short_disk);
  CHECK(short_disk.error().code == "image.luks.too_small");
  auto unchanged = core::read_file(dir / "short.raw");
  REQUIRE(unchanged);
  CHECK(*unchanged == disk.substr(0, disk.size() - after - 4096));
}

TEST_CASE("a LUKS2 volume that fails to format leaves no file behind", "[luks]") {
  core::TempDir dir;
  auto plain = make_plaintext(dir.path());
  auto o = options(false);
  o.unlock_cost.memory_kib = 8u << 20; // libcryptsetup's argon2 limit is 4 GiB
  core::Secret unlock{std::string(key_a)};
  core::NullProgress progress;
  auto r = image::write_luks_volume(plain, dir / "a.luks", unlock, nullptr, o, progress);
  REQUIRE_FALSE(r);
  CHECK(r.error().code.rfind("image.luks.", 0) == 0);
  CHECK_FALSE(fs::exists(dir / "a.luks"));
}
