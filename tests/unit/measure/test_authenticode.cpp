// The kernel's PE/COFF Authenticode SHA-384, as TDVF extends it into RTMR1.
// The expected value of the synthetic image was derived independently (a
// Python script hashing the byte ranges listed below with hashlib).
#include "unit/measure/builders.hpp"

#include "tdxctl/core/hex.hpp"
#include "tdxctl/measure/authenticode.hpp"

#include <catch2/catch.hpp>

using namespace tdx;

namespace {
std::string digest(const std::string& image) {
  return measure::digest_hex(
      core::value_or_throw(measure::authenticode_sha384(core::as_bytes(image), "vmlinuz")));
}
core::Error refusal(const std::string& image) {
  auto r = measure::authenticode_sha384(core::as_bytes(image), "vmlinuz");
  REQUIRE_FALSE(r);
  return r.error();
}
} // namespace

TEST_CASE("Authenticode skips CheckSum and the certificate entry, sorts sections", "[measure]") {
  // [0,0x98) [0x9c,0xe8) [0xf0,0x200) then .a [0x200,0x400), .b [0x400,0x600),
  // then [0x600, size - cert size).
  CHECK(digest(test::synthetic_pe()) ==
        "127c484285b90fd8a80d64adee6c188605dba9187541b758a4800866ae445aec"
        "ac60dbc1d2f9224b00378560b34feea1");
  auto pe = test::synthetic_pe();
  test::put32(pe, 0x58 + 64, 0); // CheckSum is not hashed
  CHECK(digest(pe) == digest(test::synthetic_pe()));
  pe = test::synthetic_pe();
  pe[0x610] ^= 1; // inside the certificate table: not hashed
  CHECK(digest(pe) == digest(test::synthetic_pe()));
  pe = test::synthetic_pe();
  pe[0x250] ^= 1; // section data
  CHECK(digest(pe) != digest(test::synthetic_pe()));
}

TEST_CASE("a kernel that is not a PE image is refused", "[measure]") {
  auto pe = test::synthetic_pe();
  CHECK_THAT(refusal(pe.substr(0, 0x30)).message, Catch::Contains("DOS header"));
  auto bad = pe;
  bad[0] = 'X';
  CHECK(refusal(bad).code == "measure.pe_image");
  bad = pe;
  bad[0x41] = 'X';
  CHECK_THAT(refusal(bad).message, Catch::Contains("0x40") && Catch::Contains("PE signature"));
  bad = pe;
  test::put16(bad, 0x58, 0x10c);
  CHECK_THAT(refusal(bad).message, Catch::Contains("magic"));
  bad = pe;
  test::put32(bad, 0x58 + 0xF0 + 40 + 20, 0x10000); // .a beyond the end
  CHECK_THAT(refusal(bad).message, Catch::Contains("section data"));
  bad = pe;
  test::put32(bad, 0x58 + 112 + 36, 0x100); // certificate table larger than the tail
  CHECK_THAT(refusal(bad).message, Catch::Contains("certificate table"));
}
