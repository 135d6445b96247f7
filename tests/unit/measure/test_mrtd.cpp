// TDVF metadata and MRTD: the real Debian ovmf-inteltdx build and a
// synthetic image whose MRTD was derived independently (a separate Python
// script: the 128-byte MEM.PAGE.ADD / MR.EXTEND records hashed in KVM's
// per-page order with hashlib), plus every refusal QEMU would make.
#include "support/fixtures.hpp"
#include "unit/measure/builders.hpp"

#include "tdxctl/core/fs.hpp"
#include "tdxctl/core/hex.hpp"
#include "tdxctl/measure/mrtd.hpp"
#include "tdxctl/measure/tdvf_metadata.hpp"

#include <catch2/catch.hpp>

using namespace tdx;

namespace {

std::string real_tdvf() {
  return core::value_or_throw(core::read_file(test::testdata() / "tdvf/OVMF.inteltdx.ms.fd"));
}

core::Error metadata_error(const std::string& image) {
  auto r = measure::parse_tdvf_metadata(core::as_bytes(image), "fw.fd");
  REQUIRE_FALSE(r);
  return r.error();
}

std::string mrtd_hex(const std::string& image) {
  auto bytes = core::as_bytes(image);
  auto md = core::value_or_throw(measure::parse_tdvf_metadata(bytes, "fw.fd"));
  return measure::digest_hex(core::value_or_throw(measure::compute_mrtd(bytes, md, "fw.fd")));
}

} // namespace

TEST_CASE("the real TDVF's metadata lists its six sections", "[measure]") {
  auto image = real_tdvf();
  auto md = core::value_or_throw(measure::parse_tdvf_metadata(core::as_bytes(image), "OVMF"));
  REQUIRE(md.sections.size() == 6);
  const auto& bfv = md.sections[0];
  CHECK(bfv.type == 0);
  CHECK(bfv.data_offset == 0x84000);
  CHECK(bfv.raw_data_size == 0x37c000);
  CHECK(bfv.memory_address == 0xffc84000);
  CHECK(bfv.memory_size == 0x37c000);
  CHECK(bfv.attributes == measure::kAttrMrExtend);
  const auto& cfv = md.sections[1];
  CHECK(cfv.type == 1);
  CHECK(cfv.memory_address == 0xffc00000);
  CHECK(cfv.memory_size == 0x84000);
  CHECK(cfv.attributes == 0);
  CHECK(md.sections[4].type == 2); // TD_HOB
  CHECK(md.sections[4].memory_address == 0x809000);
  for (size_t i : {2u, 3u, 5u}) CHECK(md.sections[i].type == 3);
}

TEST_CASE("MRTD of the real TDVF", "[measure]") {
  // Independently: /tmp-style Python over the same rules gave this value.
  CHECK(mrtd_hex(real_tdvf()) ==
        "a7a1f751abc454f9cbab198ca8d2edb2821935df525c74182b5e776cb0929e8c"
        "59aefecce725b0d08a5e9d3d3183bd08");
}

TEST_CASE("MRTD of a synthetic TDVF matches the hand derivation", "[measure]") {
  // BFV page measured (image bytes), CFV page added only, two TEMP_MEM pages
  // added only, one TEMP_MEM page measured as zeros.
  CHECK(mrtd_hex(test::synthetic_tdvf()) ==
        "b62a9296c6a8b548cf5b7fee1ab0f3e58e9f028e3c96e587e602ec3b6eeed5c8"
        "5571b6b255850ee9d4007de6d4436217");
}

TEST_CASE("MRTD depends on section order, addresses, content and attributes", "[measure]") {
  auto base = mrtd_hex(test::synthetic_tdvf());
  auto sections = test::default_sections();
  std::swap(sections[2], sections[3]);
  CHECK(mrtd_hex(test::synthetic_tdvf(sections)) != base);
  sections = test::default_sections();
  sections[2].address += 0x1000;
  CHECK(mrtd_hex(test::synthetic_tdvf(sections)) != base);
  sections = test::default_sections();
  sections[1].attributes = measure::kAttrMrExtend;
  CHECK(mrtd_hex(test::synthetic_tdvf(sections)) != base);
  auto image = test::synthetic_tdvf();
  image[0x123] ^= 1; // a BFV byte
  CHECK(mrtd_hex(image) != base);
  image = test::synthetic_tdvf();
  image[0x1f00] ^= 1; // a CFV byte: page-added, not extended
  CHECK(mrtd_hex(image) == base);
}

TEST_CASE("a damaged or foreign firmware is refused at its byte offset", "[measure]") {
  auto good = test::synthetic_tdvf();

  auto no_footer = good;
  no_footer[0x2000 - 0x30] ^= 1;
  auto e = metadata_error(no_footer);
  CHECK(e.code == "measure.tdvf_metadata");
  CHECK_THAT(e.message, Catch::Contains("0x1fd0") && Catch::Contains("footer"));

  auto no_sig = good;
  no_sig[0x1000] = 'X';
  CHECK_THAT(metadata_error(no_sig).message, Catch::Contains("0x1000") && Catch::Contains("TDVF"));

  CHECK_THAT(metadata_error(test::synthetic_tdvf(test::default_sections(), 2)).message,
             Catch::Contains("version 2"));

  auto sections = test::default_sections();
  sections[2].address = 0x800800;
  CHECK_THAT(metadata_error(test::synthetic_tdvf(sections)).message,
             Catch::Contains("0x1050") && Catch::Contains("not page aligned"));

  sections = test::default_sections();
  sections[3].type = 4; // PERM_MEM: QEMU refuses to launch it
  CHECK_THAT(metadata_error(test::synthetic_tdvf(sections)).message,
             Catch::Contains("PERM_MEM") && Catch::Contains("0x1070"));

  sections = test::default_sections();
  sections[2].raw_size = 0x1000; // TEMP_MEM backed by image bytes
  CHECK_THAT(metadata_error(test::synthetic_tdvf(sections)).message,
             Catch::Contains("expected 0"));

  sections = test::default_sections();
  sections[0].size = 0x3000; // BFV beyond the end of the image
  sections[0].raw_size = 0x3000;
  CHECK_THAT(metadata_error(test::synthetic_tdvf(sections)).message,
             Catch::Contains("outside"));

  CHECK_THAT(metadata_error(good.substr(0, 0x20)).message, Catch::Contains("too small"));
  CHECK_THAT(metadata_error(std::string(0x2000, '\xff')).message, Catch::Contains("footer"));
}

TEST_CASE("a TD_HOB that asks to be measured cannot be predicted", "[measure]") {
  auto sections = test::default_sections();
  sections.push_back({0, 0, 0xA00000, 0x1000, 2, measure::kAttrMrExtend});
  auto image = test::synthetic_tdvf(sections);
  auto bytes = core::as_bytes(image);
  auto md = core::value_or_throw(measure::parse_tdvf_metadata(bytes, "fw.fd"));
  auto r = measure::compute_mrtd(bytes, md, "fw.fd");
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message, Catch::Contains("TD_HOB") && Catch::Contains("cannot be predicted"));
}
