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

// up and down share one shape: a host.yaml, then a flow over it with the
// Context's root, runners and progress. Returns the subcommand and the
// options its flags fill (owned by the callback).
template <class Options>
std::pair<CLI::App*, Options*> add_flow(
    CLI::App& app, Context& ctx, const std::string& name,
    up::FlowReport (*run)(const up::FlowEnv&, const up::HostFile&, const Options&),
    const std::string& description) {
  struct Args {
    std::string config;
    Options options;
  };
  auto args = std::make_shared<Args>();
  auto* c = app.add_subcommand(name, description);
  c->add_option("-c,--config", args->config, "host.yaml (default /etc/tdxctl/host.yaml under --root)")
      ->type_name("FILE");
  c->callback([args, &ctx, run] {
    auto file = up::load_host_file(host_yaml(ctx, args->config));
    auto sink = ctx.progress();
    up::FlowEnv env{ctx.root(), ctx.probe(), ctx.effects(), *sink,
                    ctx.opts.quiet ? nullptr : &std::cerr, ctx.connect_uri(), ctx.dry_run()};
    emit(ctx, run(env, file, args->options));
  });
  return {c, &args->options};
}

} // namespace

void add_up(CLI::App& app, Context& ctx) {
  auto [up, options] = add_flow(app, ctx, "up", up::run_up,
                                "Bring the host from TDX-enabled to TD running (and attested): "
                                "host check, GPUs, volumes, network, TD, --attest; idempotent");
  up->add_flag("--recreate-volumes", options->recreate_volumes,
               "Replace a volume whose content, size or label differs from host.yaml (its data is lost)");
  up->add_flag("--attest", options->attest,
               "Wait for the TD's attestation endpoint and verify a fresh quote (attest: section); "
               "exit 3 if it does not verify");
  add_seconds(up, "--timeout", options->attest_timeout_s,
              "Seconds to wait for the attestation endpoint (default attest.timeout, 300)");
  up->add_flag("--no-tdx", options->no_tdx,
               "INSECURE development profile: the TD as a plain VM (e.g. libvirt's test driver)");
  up->add_flag("--autostart", options->autostart, "Start the TD when the host boots");
  up->footer("Stages: host, gpu, volumes, network, td, attest. Progress on stderr; a summary table "
             "(or one JSON document tdxctl.up/1 with \"changed\") on stdout.\n"
             "Examples:\n  tdxctl up --dry-run\n  tdxctl up -c /etc/tdxctl/host.yaml --attest -o json\n"
             "  tdxctl --root /tmp/fixture --connect test:///default up -c host.yaml --no-tdx");

  auto [down, down_options] = add_flow(app, ctx, "down", up::run_down,
                                      "Stop the TD (shutdown, then destroy after --timeout) and take "
                                      "the network down; GPUs with --release-gpus; volumes are kept");
  add_seconds(down, "--timeout", down_options->timeout_s,
              "Seconds to wait for the guest to shut down before destroying it (default 120)");
  down->add_flag("--release-gpus", down_options->release_gpus,
                 "Give the GPUs of gpu: back to their host drivers");
  down->footer("Examples:\n  tdxctl down\n  tdxctl down --timeout 300 --release-gpus -o json");
}

} // namespace tdx::cmd
