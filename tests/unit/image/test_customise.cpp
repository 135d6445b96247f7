// image/customise: the fstab rewrite customise_tree applies in the image
// (the rest of customise_tree runs in the build namespace, tested by the
// image build integration tests).
#include "tdxctl/image/customise.hpp"

#include <catch2/catch.hpp>

using namespace tdx;

namespace {
const std::string luks_root = "/dev/mapper/root\t/\text4\terrors=remount-ro\t0 1\n";
}

TEST_CASE("rewrite_fstab_root replaces the root entry and keeps every other line as it was") {
  std::string fstab = "# <file system> <mount point> <type>\n"
                      "LABEL=cloudimg-rootfs\t/\text4\tdiscard,errors=remount-ro\t0 1\n"
                      "LABEL=BOOT\t/boot\text4\tdefaults\t0 2\n"
                      "LABEL=UEFI /boot/efi vfat umask=0077 0 1\n";
  CHECK(image::rewrite_fstab_root(fstab) == "# <file system> <mount point> <type>\n" + luks_root +
                                                "LABEL=BOOT\t/boot\text4\tdefaults\t0 2\n"
                                                "LABEL=UEFI /boot/efi vfat umask=0077 0 1\n");
}

TEST_CASE("rewrite_fstab_root: a commented-out root is no entry; none at all is nullopt") {
  CHECK_FALSE(image::rewrite_fstab_root("#UUID=x / ext4 defaults 0 1\nLABEL=BOOT /boot ext4 defaults 0 2\n"));
  CHECK_FALSE(image::rewrite_fstab_root(""));
  CHECK_FALSE(image::rewrite_fstab_root("/dev/sda1 /rootfs ext4 defaults 0 1\n"));
}

TEST_CASE("rewrite_fstab_root: spaces or tabs, every root entry, and a last line without a newline") {
  CHECK(image::rewrite_fstab_root("  UUID=a   /   ext4 defaults 0 1") == luks_root);
  CHECK(image::rewrite_fstab_root("UUID=a / ext4 defaults 0 1\nUUID=b / ext4 defaults 0 1\n") ==
        luks_root + luks_root);
  CHECK(image::rewrite_fstab_root("\nUUID=a / ext4 defaults 0 1\n") == "\n" + luks_root);
}
