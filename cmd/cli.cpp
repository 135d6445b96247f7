// The command tree: global options, then one add_<group>() per file.
#include "context.hpp"

#include "tdxctl/core/build_info.hpp"
#include "tdxctl/core/log.hpp"

#include <cstdlib>

namespace tdx::cmd {

std::unique_ptr<CLI::App> build_cli(Context& ctx) {
  auto app = std::make_unique<CLI::App>(
      "tdxctl takes an Intel TDX host from bare metal to a running, attested trust domain "
      "(TD) with NVIDIA GPUs passed through in protected-PCIe mode.",
      "tdxctl");
  app->set_version_flag("--version", std::string("tdxctl ") + core::build_info::version);
  app->require_subcommand(1);
  app->fallthrough();
  app->option_defaults()->always_capture_default(false);

  auto& o = ctx.opts;
  if (const char* env = std::getenv("TDXCTL_ROOT")) o.root = env;
  app->add_option("--root", o.root,
                  "Prefix for every host path (/sys, /proc, /dev, /etc, /run) [env TDXCTL_ROOT]")
      ->type_name("DIR");
  app->add_option("--connect", o.connect,
                  "libvirt URI (default qemu:///system) [env LIBVIRT_DEFAULT_URI]")
      ->type_name("URI");
  add_choice(app.get(), "-o,--output", o.output, {"text", "json"}, "Output format");
  app->add_flag("--json", [&o](int64_t) { o.output = "json"; }, "Same as --output json");
  add_choice(app.get(), "--progress", o.progress, {"auto", "bar", "plain", "json", "none"},
             "Progress on stderr");
  app->add_flag("-n,--dry-run", o.dry_run, "Print what would be done; change nothing");
  app->add_flag("-y,--yes", o.yes, "Answer yes to confirmations");
  app->add_flag("-v,--verbose", o.verbose, "More log output on stderr (repeatable)");
  app->add_flag("-q,--quiet", o.quiet, "Only errors on stderr");
  app->footer("Exit status: 0 ok, 1 failed, 2 usage or invalid input, 3 host not ready, "
              "4 partial.\nSee tdxctl(1) and tdxctl-<group>(1).");

  app->parse_complete_callback([&o] { core::init_logging(o.verbose, o.quiet); });

  add_host(*app, ctx);
  add_image(*app, ctx);
  add_volume(*app, ctx);
  add_gpu(*app, ctx);
  add_net(*app, ctx);
  add_td(*app, ctx);
  add_quote(*app, ctx);
  add_policy(*app, ctx);
  add_collateral(*app, ctx);
  add_unlock(*app, ctx);
  add_keys(*app, ctx);
  add_measure_capture(*app, ctx);
  add_up(*app, ctx);
  add_config(*app, ctx);
  add_completion(*app, ctx);
  return app;
}

} // namespace tdx::cmd
