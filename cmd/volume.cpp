// tdxctl volume: create, inspect and verify the tdx-config and tdx-cache volumes.
#include "context.hpp"

#include "tdxctl/core/disk_image.hpp"
#include "tdxctl/up/host_file.hpp"
#include "tdxctl/volume/cache_volume.hpp"
#include "tdxctl/volume/config_volume.hpp"
#include "tdxctl/volume/inspect.hpp"

#include <iostream>

namespace tdx::cmd {

namespace {

volume::VolumeFormat format_of(const std::string& name) {
  return name == "raw" ? volume::VolumeFormat::raw : volume::VolumeFormat::qcow2;
}

// The seed must never be an argv element (ps, shell history, audit logs):
// these hidden options exist only to say so clearly instead of "unknown option".
void refuse_seed_flags(CLI::App* c) {
  c->add_option_function<std::string>(
       "--miner-seed,--seed",
       [](const std::string&) {
         throw core::Failure(core::Category::usage, "volume.seed_in_argv",
                             "the miner seed is not accepted on the command line (it would be "
                             "visible in ps, shell history and audit logs)",
                             "use --seed-file FILE, --seed-file - (stdin), or the environment "
                             "variable TDXCTL_MINER_SEED");
       },
       "refused")
      ->group("");
}

void add_config_create(CLI::App* config, Context& ctx) {
  struct Args {
    volume::ConfigInput input;
    std::string output, yaml, format = "qcow2";
    bool force = false;
  };
  auto args = std::make_shared<Args>();
  auto* c = config->add_subcommand(
      "create", "Create the tdx-config volume (hostname, miner hotkey and seed, netplan), "
                "16 MiB ext4 labelled tdx-config, mode 0600, plus PATH.sha384");
  c->add_option("-o,--out", args->output, "Volume file to write")->required()->type_name("PATH");
  c->add_option("-c,--config", args->yaml,
                "Take values from the 'config:' section of this host.yaml (flags win)")
      ->type_name("FILE")
      ->check(CLI::ExistingFile);
  c->add_option("--hostname", args->input.hostname,
                "TD hostname: lowercase RFC 1123 label, at most 63 characters")
      ->type_name("NAME");
  c->add_option("--miner-ss58", args->input.miner_ss58,
                "Miner hotkey SS58 address (checksum verified)")
      ->type_name("ADDRESS");
  c->add_option("--seed-file", args->input.seed_file,
                "File holding the miner seed (64 hex digits), or - for stdin; default: the "
                "environment variable TDXCTL_MINER_SEED")
      ->type_name("FILE");
  c->add_option("--vm-ip", args->input.vm_ip, "The TD's address with prefix length, e.g. "
                                             "192.168.100.2/24")
      ->type_name("A.B.C.D/N");
  c->add_option("--gateway", args->input.gateway, "Default gateway (inside the VM's subnet)")
      ->type_name("A.B.C.D");
  c->add_option("--dns", args->input.dns,
                "DNS server for the TD (repeatable; required), or 'host' for this host's "
                "resolvers")
      ->type_name("A.B.C.D|host")
      ->allow_extra_args(false);
  add_choice(c, "--format", args->format, {"qcow2", "raw"}, "Disk format");
  c->add_flag("-f,--force", args->force, "Replace an existing volume");
  refuse_seed_flags(c);
  c->footer("The seed is read from --seed-file, stdin or TDXCTL_MINER_SEED, never from a flag.\n"
            "Examples:\n"
            "  tdxctl volume config create -o config.qcow2 --hostname miner-0 \\\n"
            "    --miner-ss58 5Grw... --seed-file seed.hex --vm-ip 192.168.100.2/24 \\\n"
            "    --gateway 192.168.100.1 --dns 1.1.1.1\n"
            "  tdxctl volume config create -c /etc/tdxctl/host.yaml -o config.qcow2");
  c->callback([args, &ctx] {
    auto input = args->input;
    if (!args->yaml.empty())
      volume::fill_unset(input, *up::load_host_file(args->yaml, up::HostFileUse::config_volume).config);
    auto values = std::make_shared<const volume::ConfigValues>(
        core::value_or_throw(volume::resolve_config(input, ctx.root())));
    volume::ConfigVolumeRequest req{args->output, format_of(args->format),
                                    args->force ? core::Force::yes : core::Force::no};
    auto planned = volume::plan_config_volume(req, values, ctx.probe(), ctx.effects());
    core::Json extra{{"path", req.output.string()},
                     {"format", args->format},
                     {"sha384", planned.digest},
                     {"digest_path", volume::digest_path(req.output).string()}};
    ctx.run_plan(planned.plan, "tdxctl.volume.config.create/1", extra);
    if (!ctx.out().json()) std::cout << "sha384 (content manifest): " << planned.digest << '\n';
  });
}

void add_cache_create(CLI::App* cache, Context& ctx) {
  struct Args {
    volume::CacheVolumeRequest req;
    std::string output, kind = "cache", format = "qcow2";
    bool force = false;
  };
  auto args = std::make_shared<Args>();
  auto* c = cache->add_subcommand(
      "create", "Create a sparse cache volume: tdx-cache (ext4, metadata packed at the start; "
                "default 5000G) or, with --kind containerd, a blank disk the TD encrypts (default 500G)");
  c->add_option("-o,--out", args->output, "Volume file to write")->required()->type_name("PATH");
  c->add_option("--size", args->req.size, "Virtual size: 5000G, 500G, 2T ... (K/M/G/T are "
                                          "powers of 1024)")
      ->type_name("SIZE");
  c->add_option("--label", args->req.label, "Filesystem label, at most 16 bytes (default tdx-cache; not for containerd)")
      ->type_name("LABEL");
  add_choice(c, "--kind", args->kind, {"cache", "containerd"},
             "cache: the guest's /var/snap; containerd: a blank disk the guest encrypts (LUKS2 + ext4) on "
             "first boot");
  add_choice(c, "--format", args->format, {"qcow2", "raw"}, "Disk format");
  c->add_flag("-f,--force", args->force, "Replace an existing volume");
  c->footer("Examples:\n  tdxctl volume cache create -o cache.qcow2 --size 5000G\n"
            "  tdxctl volume cache create --kind containerd -o containerd.qcow2");
  c->callback([args, &ctx] {
    auto req = args->req;
    req.output = args->output;
    req.kind = args->kind == "containerd" ? volume::CacheKind::containerd : volume::CacheKind::cache;
    req.format = format_of(args->format);
    req.force = args->force ? core::Force::yes : core::Force::no;
    auto planned = volume::plan_cache_volume(req, ctx.probe(), ctx.effects());
    ctx.run_plan(planned.plan, "tdxctl.volume.cache.create/1",
                 {{"path", req.output.string()},
                  {"format", args->format},
                  {"label", planned.label},
                  {"size_bytes", planned.size},
                  {"allocated_bytes", core::allocated_bytes(req.output)}});
  });
}

void add_inspect_verify(CLI::App* group, Context& ctx) {
  auto path = std::make_shared<std::string>();
  auto* i = group->add_subcommand(
      "inspect", "Show format, sizes, label, UUID and (config volumes) files of a volume, read "
                 "with libguestfs; secrets are redacted");
  i->add_option("path", *path, "Volume file")->required()->type_name("PATH");
  i->callback([path, &ctx] {
    auto report = volume::inspect_volume(ctx.probe(), *path);
    ctx.out().emit("tdxctl.volume.inspect/1", report.to_json(),
                   [&](std::ostream& os) { report.print(os); });
  });

  struct VerifyArgs {
    std::string path, kind, label;
  };
  auto args = std::make_shared<VerifyArgs>();
  auto* v = group->add_subcommand(
      "verify", "Check a volume as the guest does at boot (ext4, label, clean state) plus its "
                "content (config: files, modes, values, netplan, PATH.sha384); exit 1 if not valid");
  v->add_option("path", args->path, "Volume file")->required()->type_name("PATH");
  add_choice(v, "--kind", args->kind, {"config", "cache", "containerd"}, "What the volume must be")
      ->required();
  v->add_option("--label", args->label, "Expected label, if not the kind's default")
      ->type_name("LABEL");
  v->callback([args, &ctx] {
    auto kind = args->kind == "config"       ? volume::VerifyKind::config
                : args->kind == "containerd" ? volume::VerifyKind::containerd
                                             : volume::VerifyKind::cache;
    auto report = volume::verify_volume(ctx.probe(), args->path, kind, args->label);
    ctx.out().emit("tdxctl.volume.verify/1", report.to_json(),
                   [&](std::ostream& os) { report.print(os); });
    if (!report.ok())
      throw core::Failure(core::Error{core::Category::failed, "volume.invalid",
                                      args->path + " is not a valid " + args->kind + " volume",
                                      "see the failed checks above", true});
  });
}

} // namespace

void add_volume(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand("volume", "Create, inspect and verify the tdx-config and "
                                             "tdx-cache volumes");
  group->require_subcommand(1);
  auto* config = group->add_subcommand("config", "The tdx-config volume");
  config->require_subcommand(1);
  add_config_create(config, ctx);
  auto* cache = group->add_subcommand("cache", "The tdx-cache and containerd-cache volumes");
  cache->require_subcommand(1);
  add_cache_create(cache, ctx);
  add_inspect_verify(group, ctx);
}

} // namespace tdx::cmd
