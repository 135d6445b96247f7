// The command tree: global options, then one add_<group>() per file.
#include "context.hpp"

#include "tdxctl/core/build_info.hpp"
#include "tdxctl/core/log.hpp"

#include <array>
#include <cstdlib>
#include <string_view>

namespace tdx::cmd {

namespace {

// Each group's top-level names, in the order --help lists them.
struct Group {
  std::array<std::string_view, 2> names;
  void (*add)(CLI::App&, Context&);
};
const Group k_groups[] = {
    {{"host"}, add_host},       {{"image"}, add_image},   {{"volume"}, add_volume},
    {{"gpu"}, add_gpu},         {{"net"}, add_net},       {{"td"}, add_td},
    {{"quote"}, add_quote},     {{"policy"}, add_policy}, {{"collateral"}, add_collateral},
    {{"unlock"}, add_unlock},   {{"keys"}, add_keys},     {{"measure"}, add_measure_capture},
    {{"up", "down"}, add_up},   {{"config"}, add_config}, {{"completion", "man"}, add_completion},
};

bool names(const Group& g, std::string_view arg) {
  return arg == g.names[0] || (!g.names[1].empty() && arg == g.names[1]);
}

// Which groups args needs (see build_cli in context.hpp).
std::array<bool, std::size(k_groups)> groups_for(std::span<char* const> args) {
  std::array<bool, std::size(k_groups)> want{};
  bool any = false, all = args.empty();
  for (size_t a = 1; a < args.size() && args[a]; ++a) {
    std::string_view arg = args[a];
    // -h also inside a bundle of short flags (-vh).
    if (arg == "--help" || arg == "--help-all" ||
        (arg.size() > 1 && arg[0] == '-' && arg[1] != '-' && arg.find('h') != std::string_view::npos))
      all = true;
    for (size_t g = 0; g < std::size(k_groups); ++g)
      if (names(k_groups[g], arg)) want[g] = any = true;
  }
  // The last group, completion and man, walks the whole tree.
  if (all || !any || want.back()) want.fill(true);
  return want;
}

} // namespace

std::unique_ptr<CLI::App> build_cli(Context& ctx, std::span<char* const> args) {
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

  auto want = groups_for(args);
  for (size_t g = 0; g < std::size(k_groups); ++g)
    if (want[g]) k_groups[g].add(*app, ctx);
  return app;
}

} // namespace tdx::cmd
