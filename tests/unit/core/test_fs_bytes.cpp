// core/fs: byte-range copies (copy_file_range and its buffer fallback) and
// the huge-page tmpfs test's mountinfo half.
#include "support/fixtures.hpp"
#include "tdxctl/core/fs.hpp"
#include "tdxctl/core/unique_fd.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/statfs.h>
#include <unistd.h>

using namespace tdx;
namespace fs = std::filesystem;

TEST_CASE("copy_bytes copies a range between offsets, in the kernel and through its buffer fallback") {
  core::TempDir dir;
  auto source = test::pattern((9u << 20) + 123, 7);
  test::put(dir.path(), "in", source);
  core::UniqueFd in(::open((dir / "in").c_str(), O_RDONLY));
  REQUIRE(in.get() >= 0);

  // File to file on one filesystem: copy_file_range.
  core::UniqueFd out(::open((dir / "out").c_str(), O_RDWR | O_CREAT, 0600));
  REQUIRE(core::copy_bytes(in.get(), 4096, out.get(), 100, source.size() - 4096));
  auto got = core::read_file(dir / "out");
  REQUIRE(got);
  CHECK(got->substr(0, 100) == std::string(100, '\0'));
  CHECK(got->substr(100) == source.substr(4096));

  // Into a memfd: another filesystem type, which copy_file_range refuses
  // (EXDEV), so the buffer copies it, over more than one 8 MiB buffer.
  core::UniqueFd mem(::memfd_create("copy-bytes-test", MFD_CLOEXEC));
  REQUIRE(mem.get() >= 0);
  REQUIRE(core::copy_bytes(in.get(), 1, mem.get(), 5, source.size() - 1));
  std::string back(source.size() + 4, '\0');
  REQUIRE(core::pread_full(mem.get(), back.data(), back.size(), 0));
  CHECK(back.substr(0, 5) == std::string(5, '\0'));
  CHECK(back.substr(5) == source.substr(1));

  // A source that ends first: false with ENODATA, on both paths.
  errno = 0;
  CHECK_FALSE(core::copy_bytes(in.get(), source.size() - 10, out.get(), 0, 20));
  CHECK(errno == ENODATA);
  errno = 0;
  CHECK_FALSE(core::copy_bytes(in.get(), source.size() - 10, mem.get(), 0, 20));
  CHECK(errno == ENODATA);
}

TEST_CASE("the huge-page tmpfs test reads the mount of the file's device from mountinfo") {
  const std::string mountinfo =
      "22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n"
      "30 22 0:26 / /dev/shm rw,nosuid,nodev shared:4 - tmpfs tmpfs rw,size=24683548k\n"
      "41 22 0:35 / /tmp/with\\040space rw,relatime - tmpfs none rw,size=3145728k,huge=always\n"
      "42 22 0:36 / /srv/build rw - tmpfs build rw,huge=within_size,mode=700\n"
      "43 22 0:37 / /srv/advise rw - tmpfs  rw,huge=advise\n"
      "44 22 0:38 / /srv/never rw - tmpfs x rw,huge=never\n"
      "45 22 0:39 / /srv/fake rw - ext4 /dev/vdb rw,huge=always\n"
      "46 22 0:40 / /srv/tagged rw shared:9 master:2 - tmpfs t rw,nr_inodes=5,huge=always";
  CHECK_FALSE(core::huge_tmpfs_in_mountinfo(mountinfo, "0:21"));
  CHECK_FALSE(core::huge_tmpfs_in_mountinfo(mountinfo, "0:26"));
  CHECK(core::huge_tmpfs_in_mountinfo(mountinfo, "0:35"));  // an escaped blank in the mount point
  CHECK(core::huge_tmpfs_in_mountinfo(mountinfo, "0:36"));
  CHECK(core::huge_tmpfs_in_mountinfo(mountinfo, "0:37"));  // an empty source field
  CHECK_FALSE(core::huge_tmpfs_in_mountinfo(mountinfo, "0:38"));
  CHECK_FALSE(core::huge_tmpfs_in_mountinfo(mountinfo, "0:39")); // not a tmpfs
  CHECK(core::huge_tmpfs_in_mountinfo(mountinfo, "0:40"));  // optional tags, last line
  CHECK_FALSE(core::huge_tmpfs_in_mountinfo(mountinfo, "0:4"));
  CHECK_FALSE(core::huge_tmpfs_in_mountinfo("", "0:35"));

  // A file on a filesystem other than tmpfs is not on one, whatever its options.
  core::TempDir dir;
  test::put(dir.path(), "f", "x");
  core::UniqueFd fd(::open((dir / "f").c_str(), O_RDONLY));
  REQUIRE(fd.get() >= 0);
  struct statfs sfs {};
  REQUIRE(::fstatfs(fd.get(), &sfs) == 0);
  if (sfs.f_type != TMPFS_MAGIC) CHECK_FALSE(core::on_huge_page_tmpfs(fd.get()));
  CHECK_FALSE(core::on_huge_page_tmpfs(-1));
}
