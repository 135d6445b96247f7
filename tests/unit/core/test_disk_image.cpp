// core/disk_image: qemu-img info goes through the probe runner it is given
// (recorded here, answered with canned output), the magic-byte sniff needs
// no program, and sparse files allocate nothing.
#include "tdxctl/core/disk_image.hpp"

#include "support/fixtures.hpp"
#include "tdxctl/core/fs.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>

using namespace tdx::core;
namespace fs = std::filesystem;

TEST_CASE("disk_info runs qemu-img info through the probe runner and reads its JSON") {
  RecordingRunner probe([](const Command&) {
    Completed done;
    done.exit_status = 0;
    done.out = R"({"format": "qcow2", "virtual-size": 16777216, "actual-size": 200704})";
    return done;
  });
  auto info = disk_info(probe, "/nonexistent/v.qcow2");
  REQUIRE(info);
  CHECK(info->format == "qcow2");
  CHECK(info->virtual_size == 16u << 20);
  CHECK(info->allocated == 0); // no such file on this host
  REQUIRE(probe.commands().size() == 1);
  CHECK(probe.commands()[0].argv ==
        std::vector<std::string>{"qemu-img", "info", "--output=json", "--", "/nonexistent/v.qcow2"});
}

TEST_CASE("disk_info: a file qemu-img cannot read, and output it does not understand, are named") {
  RecordingRunner refuses([](const Command&) {
    Completed done;
    done.exit_status = 1;
    done.err = "qemu-img: Could not open 'x': No such file\n";
    return done;
  });
  auto e = disk_info(refuses, "x");
  REQUIRE_FALSE(e);
  CHECK(e.error().code == "disk.not_an_image");
  CHECK(e.error().category == Category::invalid_input);
  CHECK(e.error().message == "x: qemu-img cannot read it: qemu-img: Could not open 'x': No such file");

  auto junk = parse_disk_info("not json", 0);
  REQUIRE_FALSE(junk);
  CHECK(junk.error().code == "disk.qemu_img_output");
}

TEST_CASE("sniff_disk_format: the qcow2 magic, any other content, or the extension of a missing file") {
  TempDir dir;
  tdx::test::put(dir.path(), "a.img", std::string("QFI\xfb\0\0\0\3", 8));
  tdx::test::put(dir.path(), "b.qcow2", "plain bytes");
  CHECK(sniff_disk_format(dir / "a.img", "raw") == "qcow2");
  CHECK(sniff_disk_format(dir / "b.qcow2", "qcow2") == "raw");
  CHECK(sniff_disk_format(dir / "missing.qcow2", "raw") == "qcow2");
  CHECK(sniff_disk_format(dir / "missing.img", "qcow2") == "raw");
  CHECK(sniff_disk_format(dir / "missing", "qcow2") == "qcow2");
}

TEST_CASE("TempDir::create_sparse: the size, none of it allocated") {
  TempDir dir;
  auto path = dir.create_sparse("disk.raw", 0600, 1ull << 30);
  CHECK(path == dir / "disk.raw");
  CHECK(fs::file_size(path) == 1ull << 30);
  CHECK(allocated_bytes(path) == 0);
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK_THROWS_WITH(dir.create_sparse("disk.raw", 0600, 1), Catch::Contains("cannot create"));
}
