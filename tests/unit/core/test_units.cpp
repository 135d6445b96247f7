// core/units: the one size parser behind image.yaml, volumes and host.yaml.
#include "tdxctl/core/units.hpp"

#include <catch2/catch.hpp>

using tdx::core::parse_size;

TEST_CASE("sizes: bytes and binary units") {
  CHECK(parse_size("4096") == 4096u);
  CHECK(parse_size("4096B") == 4096u);
  CHECK(parse_size("64K") == 64ull << 10);
  CHECK(parse_size("512M") == 512ull << 20);
  CHECK(parse_size("2GiB") == 2ull << 30);
  CHECK(parse_size("5000G") == 5000ull << 30);
  CHECK(parse_size("2T") == 2ull << 40);
  CHECK(parse_size("0") == 0u);
}

TEST_CASE("sizes: bad forms and overflow are refused") {
  for (const char* bad : {"", "G", "2X", "2g", "-1G", "1.5G", " 1G", "1G ", "2 G", "0x10"})
    CHECK_FALSE(parse_size(bad));
  // 2^63 is the largest size a file offset can hold; one more unit is refused.
  CHECK(parse_size("8388608T") == uint64_t{1} << 63);
  CHECK_FALSE(parse_size("8388609T"));
  CHECK(parse_size("9223372036854775808") == uint64_t{1} << 63);
  CHECK_FALSE(parse_size("9223372036854775809"));
  CHECK_FALSE(parse_size("99999999999999999999999"));
}
