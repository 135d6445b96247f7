// tdxctl config: host.yaml: write a starting file, validate one
#include "context.hpp"

#include "tdxctl/core/fs.hpp"
#include "tdxctl/up/config_init.hpp"
#include "tdxctl/up/host_file.hpp"

#include <filesystem>
#include <iostream>

namespace tdx::cmd {

void add_config(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand("config", "host.yaml: write a starting file, validate one");
  group->require_subcommand(1);

  struct InitArgs {
    std::string out;
    std::string volume_dir = "/var/lib/libvirt/images";
    bool force = false;
  };
  auto iargs = std::make_shared<InitArgs>();
  auto* init = group->add_subcommand(
      "init", "Write a commented host.yaml from this host: default-route interface, NVIDIA GPUs, "
              "free space for the volumes");
  init->add_option("-o,--out", iargs->out,
                   "Where to write it, or - for stdout (default /etc/tdxctl/host.yaml under --root)")
      ->type_name("FILE");
  init->add_option("--volume-dir", iargs->volume_dir,
                   "Directory for the image and volumes (default /var/lib/libvirt/images)")
      ->type_name("DIR");
  init->add_flag("-f,--force", iargs->force, "Replace an existing file");
  init->footer("Examples:\n  tdxctl config init\n  tdxctl config init -o - | less\n"
               "  tdxctl config init -o host.yaml && tdxctl config check -c host.yaml");
  init->callback([iargs, &ctx] {
    auto facts = up::gather_host_facts(ctx.root(), iargs->volume_dir);
    auto text = up::render_host_yaml(facts);
    if (iargs->out == "-") {
      std::cout << text;
      return;
    }
    std::filesystem::path out = iargs->out.empty() ? ctx.root().path(up::default_host_yaml)
                                                   : std::filesystem::path(iargs->out);
    core::refuse_existing(out, iargs->force ? core::Force::yes : core::Force::no);
    if (!ctx.opts.dry_run) {
      std::filesystem::create_directories(std::filesystem::absolute(out).parent_path());
      core::write_file_atomic(out, text, 0644, iargs->force ? core::Force::yes : core::Force::no);
    }
    core::Json doc{{"path", out.string()},
                   {"dry_run", ctx.opts.dry_run},
                   {"changed", !ctx.opts.dry_run},
                   {"public_interface", facts.public_interface},
                   {"gpus", facts.gpus},
                   {"nvswitches", facts.nvswitches},
                   {"free_bytes", facts.free_bytes ? core::Json(*facts.free_bytes) : core::Json(nullptr)}};
    ctx.out().emit("tdxctl.config.init/1", doc, [&](std::ostream& os) {
      os << (ctx.opts.dry_run ? "would write " : "wrote ") << out.string() << " (public interface "
         << (facts.public_interface.empty() ? "not found" : facts.public_interface) << ", "
         << facts.gpus.size() << " GPU(s), " << facts.nvswitches.size() << " NVSwitch(es))\n"
         << "next: edit it, then `tdxctl config check -c " << out.string() << "`\n";
      if (ctx.opts.dry_run) os << text;
    });
  });

  auto cfile = std::make_shared<std::string>();
  auto* check = group->add_subcommand(
      "check", "Validate a host.yaml: every key, and cross-checks (VM address in the bridge "
               "subnet, ports not overlapping, distinct volume paths, GPU addresses); all errors at once");
  check->add_option("-c,--config", *cfile, "host.yaml (default /etc/tdxctl/host.yaml under --root)")
      ->type_name("FILE");
  check->footer("Exit status 2 with every problem as FILE:LINE:COL: key 'a.b': message.\n"
                "Examples:\n  tdxctl config check\n  tdxctl config check -c host.yaml -o json");
  check->callback([cfile, &ctx] {
    auto path = cfile->empty() ? ctx.root().path(up::default_host_yaml).string() : *cfile;
    auto file = up::load_host_file(path);
    auto doc = file.summary();
    doc["valid"] = true;
    ctx.out().emit("tdxctl.config.check/1", doc, [&](std::ostream& os) { file.print_summary(os); });
  });
}

} // namespace tdx::cmd
