// cmd/context: the two runners every command hands to lib. The probe runner
// is always the real one (plans must read the host even under --dry-run);
// the effects runner only records under --dry-run.
#include "context.hpp"

#include <catch2/catch.hpp>

using namespace tdx;

TEST_CASE("Context: under --dry-run the effects runner records and the probe runner stays real") {
  cmd::Context ctx;
  ctx.opts.dry_run = true;
  CHECK(dynamic_cast<core::RealRunner*>(&ctx.probe()));
  auto* effects = dynamic_cast<core::RecordingRunner*>(&ctx.effects());
  REQUIRE(effects);
  CHECK(&ctx.effects() == effects); // one recorder for the whole command
  REQUIRE(ctx.effects().run({{"false"}}));
  CHECK(effects->commands().size() == 1);
}

TEST_CASE("Context: without --dry-run both runners run for real") {
  cmd::Context ctx;
  CHECK(&ctx.effects() == &ctx.probe());
  CHECK(dynamic_cast<core::RealRunner*>(&ctx.effects()));
}
