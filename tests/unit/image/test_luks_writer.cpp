// image/: the userspace AES-XTS data path and the LUKS2 writer, checked by
// the kernel's dm-crypt inside the libguestfs appliance (real cryptsetup,
// real ext4 made by mke2fs -d).
#include "support/fixtures.hpp"
#include "tdxctl/core/hex.hpp"
#include "tdxctl/core/runner.hpp"
#include "tdxctl/guestfs/session.hpp"
#include "tdxctl/image/luks_writer.hpp"
#include "tdxctl/image/xts_encrypt.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/mount.h>
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

// IEEE Std 1619-2007 XTS-AES-256 test vector 10: Key1 = e's digits, Key2 =
// pi's, data unit 0xff of 512 bytes holding 00..ff twice. The expected
// ciphertext comes from the standard, not from OpenSSL.
const std::string ieee1619_v10_key = "2718281828459045235360287471352662497757247093699959574966967627"
                                     "3141592653589793238462643383279502884197169399375105820974944592";
const std::string ieee1619_v10_ct =
    "1c3b3a102f770386e4836c99e370cf9bea00803f5e482357a4ae12d414a3e63b"
    "5d31e276f8fe4a8d66b317f9ac683f44680a86ac35adfc3345befecb4bb188fd"
    "5776926c49a3095eb108fd1098baec70aaa66999a72a82f27d848b21d4a741b0"
    "c5cd4d5fff9dac89aeba122961d03a757123e9870f8acf1000020887891429ca"
    "2a3e7a7d7df7b10355165c8b9a6d0a7de8b062c4500dc4cd120c0f7418dae3d0"
    "b5781c34803fa75421c790dfe1de1834f280d7667b327f6c8cd7557e12ac3a0f"
    "93ec05c52e0493ef31a12d3d9260f79a289d6a379bc70c50841473d1a8cc81ec"
    "583e9645e07b8d9670655ba5bbcfecc6dc3966380ad8fecb17b6ba02469a020a"
    "84e18e8f84252070c13e9f1f289be54fbc481457778f616015e1327a02b140f1"
    "505eb309326d68378f8374595c849d84f4c333ec4423885143cb47bd71c5edae"
    "9be69a2ffeceb1bec9de244fbe15992b11b77c040f12bd8f6a975a44a0f90c29"
    "a9abc3d4d893927284c58754cce294529f8614dcd2aba991925fedc4ae74ffac"
    "6e333b93eb4aff0479da9a410e4450e0dd7ae4c6e2910900575da401fc07059f"
    "645e8b7e9bfdef33943054ff84011493c27b3429eaedb4ed5376441a77ed4385"
    "1ad77f16f541dfd269d50d6a5f14fb0aab1cbb4c1550be97f7ab4066193c4caa"
    "773dad38014bd2092fa755c824bb5e54c4f36ffda9fcea70b9c6e693e148c151";

std::vector<unsigned char> unhex(const std::string& text) {
  auto b = core::from_hex(text);
  REQUIRE(b);
  return {b->begin(), b->end()};
}

int open_or_fail(const fs::path& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0600);
  REQUIRE(fd >= 0);
  return fd;
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

TEST_CASE("XTS matches IEEE 1619 vector 10, as a buffer and through the threaded file path") {
  auto key = unhex(ieee1619_v10_key);
  auto expect = unhex(ieee1619_v10_ct);
  std::vector<unsigned char> plain(512), out(512);
  for (size_t i = 0; i < plain.size(); ++i) plain[i] = static_cast<unsigned char>(i);
  REQUIRE(image::xts_encrypt_buffer(key, 512, 0xff, plain, out));
  CHECK(out == expect);

  // Data unit 0xff is the 256th 512-byte sector of the data area: 8 chunks of
  // 16 KiB over 3 workers, encrypted in place in each worker's buffer.
  core::TempDir dir;
  std::string area(256 * 512, '\0');
  std::copy(plain.begin(), plain.end(), area.begin() + 255 * 512);
  test::put(dir.path(), "in", "skipped!" + area);
  int in_fd = open_or_fail(dir.path() / "in", O_RDONLY);
  int out_fd = open_or_fail(dir.path() / "out", O_RDWR | O_CREAT);
  image::XtsJob job{in_fd, 8, out_fd, 0, area.size(), 512, 3, 16 << 10};
  core::NullProgress progress;
  REQUIRE(image::xts_encrypt(job, key, progress));
  ::close(in_fd);
  ::close(out_fd);
  auto got = core::read_file(dir.path() / "out");
  REQUIRE(got);
  REQUIRE(got->size() == area.size());
  CHECK(std::equal(expect.begin(), expect.end(),
                   reinterpret_cast<const unsigned char*>(got->data()) + 255 * 512));
}

// In place, as image build encrypts the root partition: the same bytes as
// the buffer transform, the bytes around the area untouched. Through one
// buffer per worker on any filesystem, and mapped where a tmpfs has huge
// pages (one is mounted for the test when it runs as root).
namespace {
void check_in_place(const fs::path& dir, bool map) {
  std::vector<unsigned char> plain(5 * (2u << 20) + 3 * 4096);
  for (size_t i = 0; i < plain.size(); ++i) plain[i] = static_cast<unsigned char>((i * 131) >> 5);
  const size_t before = (3u << 20) + 8192, after = 4096; // the area starts off a 2 MiB boundary
  std::string disk(before, 'B');
  disk.append(plain.begin(), plain.end());
  disk.append(after, 'A');
  test::put(dir, "disk.raw", disk);
  int fd = open_or_fail(dir / "disk.raw", O_RDWR);
  image::XtsJob job{fd, before, fd, before, plain.size(), 4096, 2, 64 << 10};
  job.map_in_place = map;
  auto key = test_key();
  core::NullProgress progress;
  REQUIRE(image::xts_encrypt(job, key, progress));
  ::close(fd);
  std::vector<unsigned char> expect(plain.size());
  REQUIRE(image::xts_encrypt_buffer(key, 4096, 0, plain, expect));
  auto got = core::read_file(dir / "disk.raw");
  REQUIRE(got);
  REQUIRE(got->size() == disk.size());
  CHECK(got->substr(0, before) == disk.substr(0, before));
  CHECK(std::equal(expect.begin(), expect.end(), reinterpret_cast<const unsigned char*>(got->data()) + before));
  CHECK(got->substr(before + plain.size()) == std::string(after, 'A'));
}

struct Unmount {
  fs::path point;
  ~Unmount() { ::umount2(point.c_str(), MNT_DETACH); }
};
} // namespace

TEST_CASE("in-place encryption equals the buffer transform, through buffers and mapped in huge pages") {
  core::TempDir dir;
  check_in_place(dir.path(), false);

  // Overlapping ranges of one file that are not the same bytes are refused.
  int fd = open_or_fail(dir.path() / "disk.raw", O_RDWR);
  image::XtsJob overlap{fd, 0, fd, 4096, 8 * 4096, 4096, 2, 4096};
  core::NullProgress progress;
  auto refused = image::xts_encrypt(overlap, test_key(), progress);
  ::close(fd);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == "image.xts.overlap");

  if (::geteuid() != 0) {
    WARN("not root: the huge-page tmpfs half needs a tmpfs mount");
    return;
  }
  auto huge = dir.path() / "huge";
  fs::create_directory(huge);
  if (::mount("tdxctl-test", huge.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "huge=within_size,size=64m,mode=0700") != 0) {
    WARN("cannot mount a huge-page tmpfs here: " << std::strerror(errno));
    return;
  }
  Unmount unmount{huge};
  test::put(huge, "probe", "x");
  int probe = open_or_fail(huge / "probe", O_RDONLY);
  bool mapped = core::on_huge_page_tmpfs(probe);
  ::close(probe);
  if (!mapped) {
    WARN("THP is off for tmpfs here (shmem_enabled deny, or PR_SET_THP_DISABLE): the buffers serve");
  }
  check_in_place(huge, true);

  // Mapped, a file that ends before the area is an error, not a SIGBUS.
  test::put(huge, "short.raw", std::string(3u << 20, 's'));
  fd = open_or_fail(huge / "short.raw", O_RDWR);
  image::XtsJob beyond{fd, 1u << 20, fd, 1u << 20, 4u << 20, 4096, 2, 1u << 20};
  auto r = image::xts_encrypt(beyond, test_key(), progress);
  ::close(fd);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == "image.xts.read");
}

TEST_CASE("threaded file encryption names the byte where the plaintext ends early") {
  core::TempDir dir;
  test::put(dir.path(), "in", std::string(5 * 4096, 'p'));
  int in_fd = open_or_fail(dir.path() / "in", O_RDONLY);
  int out_fd = open_or_fail(dir.path() / "out", O_RDWR | O_CREAT);
  auto key = test_key();
  core::NullProgress progress;
  // Eight sectors promised, five there: the chunk at byte 16384 comes up short.
  image::XtsJob job{in_fd, 0, out_fd, 0, 8 * 4096, 4096, 2, 4 * 4096};
  auto r = image::xts_encrypt(job, key, progress);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == "image.xts.read");
  CHECK(r.error().message.find("at byte 16384") != std::string::npos);
  // A zero chunk size is refused up front, not divided by.
  job.chunk_bytes = 0;
  auto zero = image::xts_encrypt(job, key, progress);
  REQUIRE_FALSE(zero);
  CHECK(zero.error().code == "image.xts.length");
  ::close(in_fd);
  ::close(out_fd);
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
