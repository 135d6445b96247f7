// The tdxctl-guest command tree: the verbs that run inside a TD and its
// initramfs (unlock, quote generate, quote serve, measure), built only from tdxctl_guest_lib so an
// image never carries libvirt, libguestfs or libnl. Same flags, output and
// exit codes as the same verbs of tdxctl.
#include "context.hpp"

#include "tdxctl/core/build_info.hpp"
#include "tdxctl/core/log.hpp"

#include <cstdlib>

namespace tdx::cmd {

// Four groups: always the whole tree.
std::unique_ptr<CLI::App> build_cli(Context& ctx, std::span<char* const>) {
  auto app = std::make_unique<CLI::App>(
      "tdxctl-guest: the in-guest verbs of tdxctl (attested LUKS unlock, quote generation and serving, "
      "measurement captures) for TD images and their initramfs.",
      "tdxctl-guest");
  app->set_version_flag("--version", std::string("tdxctl-guest ") + core::build_info::version);
  app->require_subcommand(1);
  app->fallthrough();
  app->option_defaults()->always_capture_default(false);

  auto& o = ctx.opts;
  if (const char* env = std::getenv("TDXCTL_ROOT")) o.root = env;
  app->add_option("--root", o.root, "Prefix for every /sys, /dev and /run path [env TDXCTL_ROOT]")
      ->type_name("DIR");
  add_choice(app.get(), "-o,--output", o.output, {"text", "json"}, "Output format");
  app->add_flag("--json", [&o](int64_t) { o.output = "json"; }, "Same as --output json");
  app->add_flag("-v,--verbose", o.verbose, "More log output on stderr (repeatable)");
  app->add_flag("-q,--quiet", o.quiet, "Only errors on stderr");
  app->footer("Exit status: 0 ok, 1 failed, 2 usage or invalid input, 3 not ready.\n"
              "See tdxctl-unlock(1) and tdxctl-quote(1).");
  app->parse_complete_callback([&o] { core::init_logging(o.verbose, o.quiet); });

  add_unlock(*app, ctx);
  add_measure_capture(*app, ctx);
  auto* quote = app->add_subcommand("quote", "TDX quotes inside the TD");
  quote->require_subcommand(1);
  add_quote_generate(quote, ctx);
  add_quote_serve(quote, ctx);
  return app;
}

} // namespace tdx::cmd
