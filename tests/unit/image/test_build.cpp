// image/build: the up-to-date check make_build_plan runs against the
// manifest beside an existing output.
#include "tdxctl/image/build.hpp"

#include <catch2/catch.hpp>

using namespace tdx;

TEST_CASE("up_to_date_manifest: the same inputs, measure: section and --reproducible, or nothing") {
  const std::string inputs(64, 'a'), measure(64, 'b');
  core::Json m{{"image", "tdx.qcow2"}, {"inputs_digest", inputs}, {"measure_digest", measure}, {"reproducible", true}};
  auto same = image::up_to_date_manifest(m.dump(2), inputs, measure, true);
  REQUIRE(same);
  CHECK(*same == m);
  CHECK_FALSE(image::up_to_date_manifest(m.dump(), std::string(64, 'c'), measure, true));
  CHECK_FALSE(image::up_to_date_manifest(m.dump(), inputs, "", true));
  CHECK_FALSE(image::up_to_date_manifest(m.dump(), inputs, measure, false)); // not what a reproducible build asks for
}

TEST_CASE("up_to_date_manifest: absent keys read as no measure: and not reproducible; bad text is not up to date") {
  const std::string inputs(64, 'a');
  CHECK(image::up_to_date_manifest(core::Json{{"inputs_digest", inputs}}.dump(), inputs, "", false));
  CHECK_FALSE(image::up_to_date_manifest(core::Json{{"inputs_digest", inputs}}.dump(), inputs, "", true));
  CHECK_FALSE(image::up_to_date_manifest("{\"inputs_digest\": ", inputs, "", false));
  CHECK_FALSE(image::up_to_date_manifest("", inputs, "", false));
  CHECK_FALSE(image::up_to_date_manifest("[1, 2]", inputs, "", false));
}
