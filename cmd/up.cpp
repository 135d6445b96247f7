// tdxctl up / down: the whole host flow from host.yaml.
#include "context.hpp"

#include "tdxctl/up/flow.hpp"

#include <iostream>

namespace tdx::cmd {

namespace {

std::string host_yaml(Context& ctx, const std::string& given) {
  return given.empty() ? ctx.root().path(up::default_host_yaml).string() : given;
}

void emit(Context& ctx, const up::FlowReport& report) {
  ctx.out().emit(report.schema, report.to_json(), [&](std::ostream& os) { report.print(os); });
  if (report.error) {
    auto error = *report.error;
    error.reported = true;
    throw core::Failure(std::move(error));
  }
}

template <class Fn> void with_env(Context& ctx, Fn fn) {
  auto sink = ctx.progress();
  up::FlowEnv env{ctx.root(), ctx.probe(), ctx.effects(), *sink,
                  ctx.opts.quiet ? nullptr : &std::cerr, ctx.connect_uri(), ctx.dry_run()};
  fn(env);
}

} // namespace

void add_up(CLI::App& app, Context& ctx) {
  struct UpArgs {
    std::string config;
    up::UpOptions options;
  };
  auto args = std::make_shared<UpArgs>();
  auto* up = app.add_subcommand(
      "up", "Bring the host from TDX-enabled to TD running (and attested): host check, GPUs, "
            "volumes, network, TD, --attest; idempotent");
  up->add_option("-c,--config", args->config, "host.yaml (default /etc/tdxctl/host.yaml under --root)")
      ->type_name("FILE");
  up->add_flag("--recreate-volumes", args->options.recreate_volumes,
               "Replace a volume whose content, size or label differs from host.yaml (its data is lost)");
  up->add_flag("--attest", args->options.attest,
               "Wait for the TD's attestation endpoint and verify a fresh quote (attest: section); "
               "exit 3 if it does not verify");
  up->add_option("--timeout", args->options.attest_timeout_s,
                 "Seconds to wait for the attestation endpoint (default attest.timeout, 300)")
      ->check(CLI::Range(0, 86400));
  up->add_flag("--no-tdx", args->options.no_tdx,
               "INSECURE development profile: the TD as a plain VM (e.g. libvirt's test driver)");
  up->add_flag("--autostart", args->options.autostart, "Start the TD when the host boots");
  up->footer("Stages: host, gpu, volumes, network, td, attest. Progress on stderr; a summary table "
             "(or one JSON document tdxctl.up/1 with \"changed\") on stdout.\n"
             "Examples:\n  tdxctl up --dry-run\n  tdxctl up -c /etc/tdxctl/host.yaml --attest -o json\n"
             "  tdxctl --root /tmp/fixture --connect test:///default up -c host.yaml --no-tdx");
  up->callback([args, &ctx] {
    auto file = up::load_host_file(host_yaml(ctx, args->config));
    with_env(ctx, [&](const up::FlowEnv& env) { emit(ctx, up::run_up(env, file, args->options)); });
  });

  struct DownArgs {
    std::string config;
    up::DownOptions options;
  };
  auto dargs = std::make_shared<DownArgs>();
  auto* down = app.add_subcommand(
      "down", "Stop the TD (shutdown, then destroy after --timeout) and take the network down; "
              "GPUs with --release-gpus; volumes are kept");
  down->add_option("-c,--config", dargs->config, "host.yaml (default /etc/tdxctl/host.yaml under --root)")
      ->type_name("FILE");
  down->add_option("--timeout", dargs->options.timeout_s,
                   "Seconds to wait for the guest to shut down before destroying it (default 120)")
      ->check(CLI::Range(0, 86400));
  down->add_flag("--release-gpus", dargs->options.release_gpus,
                 "Give the GPUs of gpu: back to their host drivers");
  down->footer("Examples:\n  tdxctl down\n  tdxctl down --timeout 300 --release-gpus -o json");
  down->callback([dargs, &ctx] {
    auto file = up::load_host_file(host_yaml(ctx, dargs->config));
    with_env(ctx, [&](const up::FlowEnv& env) { emit(ctx, up::run_down(env, file, dargs->options)); });
  });
}

} // namespace tdx::cmd
