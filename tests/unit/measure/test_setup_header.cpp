// QEMU's boot-header patch (x86_load_linux) for `image measure --legacy-qemu`,
// and that without it the kernel is measured as the file it is. The patched
// values match another published implementation (Edgeless Contrast's
// tdx-measure: 0x210=0xb0, 0x211=0x81, 0x224=0xfe00, 0x228=0x20000).
#include "unit/measure/builders.hpp"

#include "tdxctl/core/hex.hpp"
#include "tdxctl/measure/authenticode.hpp"
#include "tdxctl/measure/direct_boot.hpp"
#include "tdxctl/measure/le.hpp"
#include "tdxctl/measure/setup_header.hpp"

#include <catch2/catch.hpp>

using namespace tdx;

namespace {

std::string bzimage_header() {
  std::string k(0x1000, '\0');
  test::put32(k, 0x202, 0x53726448); // "HdrS"
  test::put16(k, 0x206, 0x020f);
  k[0x211] = 0x01;                   // LOADED_HIGH
  test::put16(k, 0x236, 0x0002);     // XLF_CAN_BE_LOADED_ABOVE_4G
  return k;
}

std::vector<uint8_t> patched(const std::string& k, measure::LegacySetupInputs in) {
  return core::value_or_throw(measure::qemu_patched_kernel(core::as_bytes(k), in, "vmlinuz"));
}

} // namespace

TEST_CASE("QEMU's legacy setup-header patch", "[measure]") {
  auto k = bzimage_header();
  auto p = patched(k, {2ull << 30, "console=ttyS0 vga=0x317", 0x1234});
  CHECK(p.size() == k.size());
  CHECK(p[0x210] == 0xB0);
  CHECK(p[0x211] == 0x81);
  CHECK(measure::le16(p, 0x224) == 0xFE00);
  CHECK(measure::le32(p, 0x228) == 0x20000);
  CHECK(measure::le16(p, 0x1fa) == 0x0317);
  // 2 GiB on q35: below 4G ends at 2 GiB, less QEMU's 0x28000 of ACPI data.
  CHECK(measure::le32(p, 0x218) == ((0x80000000u - 0x28000u - 1u - 0x1234u) & ~0xfffu));
  CHECK(measure::le32(p, 0x21c) == 0x1234);
  // Other bytes are untouched.
  for (size_t i : {0x1f1u, 0x202u, 0x236u, 0x250u}) CHECK(p[i] == static_cast<uint8_t>(k[i]));

  // >= 0xb0000000 of RAM: the low part is cut at 2 GiB; below it, all RAM is low.
  auto big = patched(k, {8ull << 30, "", 0x1000});
  CHECK(measure::le32(big, 0x218) == ((0x80000000u - 0x28000u - 1u - 0x1000u) & ~0xfffu));
  auto mid = patched(k, {0xA0000000ull, "", 0x1000});
  CHECK(measure::le32(mid, 0x218) == ((0xA0000000u - 0x28000u - 1u - 0x1000u) & ~0xfffu));
  auto none = patched(k, {2ull << 30, "quiet", std::nullopt});
  CHECK(measure::le32(none, 0x218) == 0);
  CHECK(measure::le16(none, 0x1fa) == 0);

  // Without XLF_CAN_BE_LOADED_ABOVE_4G the header's initrd_addr_max bounds it.
  test::put16(k, 0x236, 0);
  test::put32(k, 0x22c, 0x37ffffff);
  auto low = patched(k, {2ull << 30, "", 0x1000});
  CHECK(measure::le32(low, 0x218) == ((0x37ffffffu - 0x1000u) & ~0xfffu));
}

TEST_CASE("the setup-header patch refuses what QEMU refuses", "[measure]") {
  auto k = bzimage_header();
  auto r = measure::qemu_patched_kernel(core::as_bytes(k), {2ull << 30, "vga=bogus", std::nullopt}, "k");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == "measure.cmdline");
  auto old = k;
  old[0x211] = 0;
  auto r2 = measure::qemu_patched_kernel(core::as_bytes(old), {2ull << 30, "", std::nullopt}, "k");
  REQUIRE_FALSE(r2);
  CHECK(r2.error().code == "measure.setup_header");
  auto r3 = measure::qemu_patched_kernel(core::as_bytes(std::string(0x1000, '\0')), {2ull << 30, "", std::nullopt}, "k");
  REQUIRE_FALSE(r3);
  CHECK_THAT(r3.error().message, Catch::Contains("HdrS"));
}

TEST_CASE("current QEMU: the kernel is measured as the unmodified file", "[measure]") {
  auto fw = test::synthetic_tdvf();
  auto kernel = test::synthetic_pe();
  measure::DirectBootInputs in;
  in.firmware = core::as_bytes(fw);
  in.kernel = core::as_bytes(kernel);
  in.cmdline = "console=ttyS0";
  in.memory_bytes = 2ull << 30;
  auto p = core::value_or_throw(measure::predict_direct_boot(in));
  CHECK(p.events[0].digest == core::value_or_throw(measure::authenticode_sha384(in.kernel, "k")));
}
