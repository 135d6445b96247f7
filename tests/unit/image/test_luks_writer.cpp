// image/: the userspace AES-XTS data path and the LUKS2 writer, checked by
// the kernel's dm-crypt inside the libguestfs appliance (real cryptsetup,
// real ext4 made by mke2fs -d).
#include "support/fixtures.hpp"
#include "tdxctl/core/runner.hpp"
#include "tdxctl/guestfs/session.hpp"
#include "tdxctl/image/luks_writer.hpp"
#include "tdxctl/image/xts_encrypt.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fcntl.h>
#include <unistd.h>
#include <fstream>
#include <vector>

using namespace tdx;
namespace fs = std::filesystem;

namespace {
std::vector<unsigned char> test_key() {
  std::vector<unsigned char> k(64);
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<unsigned char>(i * 7 + 1);
  return k;
}

image::LuksOptions fast_options(std::string uuid) {
  image::LuksOptions o;
  o.uuid = std::move(uuid);
  o.label = "tdx-root";
  o.unlock_cost = {0, 4, 32768, 1};
  o.recovery_cost = {0, 4, 32768, 1};
  return o;
}

// An ext4 image with 4096-byte blocks populated from a directory, no root mount.
fs::path make_ext4(const fs::path& dir) {
  test::put(dir / "tree", "etc/hostname", "tdx-test\n");
  std::string big(3 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 2654435761u) >> 13);
  test::put(dir / "tree", "data/blob.bin", big);
  auto img = dir / "root.img";
  core::RealRunner runner;
  core::run_checked(runner, {{"mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-L", "root", "-d",
                              (dir / "tree").string(), img.string(), "32M"}},
                    "mke2fs");
  return img;
}
} // namespace

TEST_CASE("XTS uses the 512-byte sector number as tweak even with 4096-byte sectors") {
  auto key = test_key();
  std::vector<unsigned char> plain(8192), whole(8192), second(4096), back(8192);
  for (size_t i = 0; i < plain.size(); ++i) plain[i] = static_cast<unsigned char>(i);
  REQUIRE(image::xts_encrypt_buffer(key, 4096, 0, plain, whole));
  // The second 4096-byte sector starts at byte 4096, i.e. plain64 IV 8.
  REQUIRE(image::xts_encrypt_buffer(key, 4096, 8, {plain.data() + 4096, 4096}, second));
  CHECK(std::equal(second.begin(), second.end(), whole.begin() + 4096));
  REQUIRE(image::xts_encrypt_buffer(key, 4096, 1, {plain.data() + 4096, 4096}, second));
  CHECK_FALSE(std::equal(second.begin(), second.end(), whole.begin() + 4096));
  REQUIRE(image::xts_encrypt_buffer(key, 4096, 0, whole, back, false));
  CHECK(back == plain);
  CHECK_FALSE(image::xts_encrypt_buffer(key, 4096, 0, {plain.data(), 1000}, {back.data(), 1000}));
  CHECK_FALSE(image::xts_encrypt_buffer({key.data(), 32}, 4096, 0, plain, back));
}

TEST_CASE("threaded file encryption equals the buffer transform") {
  core::TempDir dir;
  std::vector<unsigned char> plain(3 * 1024 * 1024 + 4096 * 5);
  for (size_t i = 0; i < plain.size(); ++i) plain[i] = static_cast<unsigned char>(i * 31 >> 3);
  test::put(dir.path(), "in", std::string(plain.begin(), plain.end()));
  auto in_fd = ::open((dir.path() / "in").c_str(), O_RDONLY);
  auto out_fd = ::open((dir.path() / "out").c_str(), O_RDWR | O_CREAT, 0600);
  image::XtsJob job{in_fd, 0, out_fd, 4096, plain.size(), 4096, 2, 1 << 20};
  auto key = test_key();
  core::NullProgress progress;
  REQUIRE(image::xts_encrypt(job, key, progress));
  ::close(in_fd);
  ::close(out_fd);
  std::vector<unsigned char> expect(plain.size());
  REQUIRE(image::xts_encrypt_buffer(key, 4096, 0, plain, expect));
  auto got = core::read_file(dir.path() / "out");
  REQUIRE(got);
  REQUIRE(got->size() == plain.size() + 4096);
  CHECK(std::equal(expect.begin(), expect.end(),
                   reinterpret_cast<const unsigned char*>(got->data()) + 4096));
}

TEST_CASE("LUKS2 volume written in userspace opens with the kernel's dm-crypt", "[guestfs]") {
  setenv("LIBGUESTFS_BACKEND", "direct", 0);
  core::TempDir dir;
  auto plain = make_ext4(dir.path());
  auto vol = dir.path() / "root.luks";
  core::Secret key("unlock-key-0123456789"), recovery("correct horse battery staple");
  core::NullProgress progress;
  auto info = image::write_luks_volume(plain, vol, key, &recovery,
                                       fast_options("4b8f2a6e-1c3d-4e5f-8a9b-0c1d2e3f4a5b"), progress);
  REQUIRE(info);
  CHECK(info->uuid == "4b8f2a6e-1c3d-4e5f-8a9b-0c1d2e3f4a5b");
  CHECK(info->unlock_keyslot == 0);
  CHECK(info->recovery_keyslot == 1);
  CHECK(fs::file_size(vol) == info->data_offset + fs::file_size(plain));

  auto header = image::read_luks_header(vol);
  REQUIRE(header);
  CHECK((*header)["cipher"] == "aes-xts-plain64");
  CHECK((*header)["key_bits"] == 512);
  CHECK((*header)["sector_size"] == 4096);
  CHECK((*header)["label"] == "tdx-root");
  REQUIRE((*header)["keyslots"].size() == 2);
  CHECK((*header)["keyslots"][0]["pbkdf"] == "argon2id");
  // Neither secret is in the volume in plain form.
  auto bytes = core::read_file(vol);
  REQUIRE(bytes);
  CHECK(bytes->find("unlock-key-0123456789") == std::string::npos);
  CHECK(bytes->find("tdx-test") == std::string::npos);

  guestfs::Guestfs g;
  g.add_drive(vol, true);
  g.launch();
  CHECK_FALSE(g.luks_open("/dev/sda", "wrong key", "bad", true));
  REQUIRE(g.luks_open("/dev/sda", "correct horse battery staple", "rec", true));
  auto recovered_uuid = g.vfs_uuid("/dev/mapper/rec");
  g.luks_close("rec");
  // Read-write mapping: the drive is read-only to the host (libguestfs overlay), fsck needs rw.
  REQUIRE(g.luks_open("/dev/sda", "unlock-key-0123456789", "root", false));
  CHECK(g.vfs_uuid("/dev/mapper/root") == recovered_uuid);
  // A full fsck of the decrypted filesystem: every block decrypts to valid ext4.
  CHECK(g.fsck("ext4", "/dev/mapper/root"));
  CHECK(g.vfs_type("/dev/mapper/root") == "ext4");
  g.mount("/dev/mapper/root", "/", true);
  CHECK(g.cat("/etc/hostname") == "tdx-test\n");
  auto blob = core::read_file(dir.path() / "tree/data/blob.bin");
  REQUIRE(blob);
  core::RealRunner runner;
  auto sum = core::run_checked(runner, {{"sha256sum", (dir.path() / "tree/data/blob.bin").string()}},
                               "sha256sum");
  CHECK(g.checksum("sha256", "/data/blob.bin") == sum.out.substr(0, 64));
}
