// tdxctl gpu: NVIDIA GPUs and NVSwitches: list, vfio-pci binding, PPCIe and
// CC mode, reset.
#include "context.hpp"

#include "tdxctl/gpu/cc_mode.hpp"
#include "tdxctl/gpu/inventory.hpp"
#include "tdxctl/gpu/ppcie.hpp"
#include "tdxctl/gpu/reset.hpp"
#include "tdxctl/gpu/vfio_plan.hpp"

namespace tdx::cmd {

namespace {

void add_devices(CLI::App* c, std::vector<std::string>& devices, bool& all) {
  c->add_option("devices", devices, "PCI addresses (0000:18:00.0 or 18:00.0)")->type_name("BDF");
  c->add_flag("--all", all, "Every NVIDIA GPU and NVSwitch on the host");
}

void add_list(CLI::App* gpu, Context& ctx) {
  struct Args {
    std::string admin_tool;
    bool no_header = false;
  };
  auto args = std::make_shared<Args>();
  auto* c = gpu->add_subcommand("list", "List NVIDIA GPUs and NVSwitches: model, driver, IOMMU "
                                        "group, NUMA node, link, the processes holding each, "
                                        "and CC/PPCIe mode when nvidia_gpu_tools.py is "
                                        "available");
  c->add_option("--admin-tool", args->admin_tool,
                "nvidia_gpu_tools.py (or its directory) to query CC/PPCIe modes with; default "
                "$TDXCTL_GPU_ADMIN_TOOL")
      ->type_name("PATH");
  c->add_flag("--no-header", args->no_header, "Omit the table header");
  c->footer("Examples:\n  tdxctl gpu list\n  tdxctl gpu list -o json\n"
            "  tdxctl --root /tmp/capture gpu list");
  c->callback([args, &ctx] {
    auto devices = core::value_or_throw(gpu::list_with_modes(ctx.root(), ctx.probe(), args->admin_tool));
    ctx.out().emit("tdxctl.gpu.list/1", {{"devices", gpu::to_json(devices)}},
                   [&](std::ostream& os) { gpu::print_table(os, devices, !args->no_header); });
  });
}

void add_bind(CLI::App* gpu, Context& ctx) {
  struct Args {
    gpu::BindRequest req;
    bool force = false, persist = false;
  };
  auto args = std::make_shared<Args>();
  auto* c = gpu->add_subcommand("bind", "Bind GPUs/NVSwitches to vfio-pci, whole IOMMU groups "
                                        "(bridges stay on the host); exit 3 if a device is in use");
  add_devices(c, args->req.devices, args->req.all);
  c->add_flag("--force", args->force,
              "Bind even if a process holds a device, or its IOMMU group holds a non-NVIDIA device");
  c->add_flag("--persist", args->persist,
              "Also keep the binding across reboots (udev rule + modprobe.d softdep under /etc)");
  c->footer("Examples:\n  tdxctl gpu bind --all\n  tdxctl gpu bind 0000:18:00.0 --dry-run\n"
            "  tdxctl gpu bind --all --persist -o json");
  c->callback([args, &ctx] {
    args->req.force = args->force ? core::Force::yes : core::Force::no;
    args->req.persist = args->persist ? gpu::Persist::yes : gpu::Persist::no;
    auto plan = core::value_or_throw(gpu::plan_bind(ctx.root(), ctx.effects(), args->req));
    ctx.run_plan(plan.plan, "tdxctl.gpu.bind/1", {{"groups", plan.groups}});
  });
}

void add_unbind(CLI::App* gpu, Context& ctx) {
  struct Args {
    gpu::UnbindRequest req;
    bool force = false;
  };
  auto args = std::make_shared<Args>();
  auto* c = gpu->add_subcommand("unbind", "Give devices (whole IOMMU groups) back to their "
                                          "drivers: clear driver_override, unbind, reprobe");
  add_devices(c, args->req.devices, args->req.all);
  c->add_flag("--force", args->force, "Unbind even if a VM holds the VFIO group");
  c->footer("Examples:\n  tdxctl gpu unbind --all\n  tdxctl gpu unbind 18:00.0 --dry-run");
  c->callback([args, &ctx] {
    args->req.force = args->force ? core::Force::yes : core::Force::no;
    auto plan = core::value_or_throw(gpu::plan_unbind(ctx.root(), args->req));
    ctx.run_plan(plan.plan, "tdxctl.gpu.unbind/1", {{"groups", plan.groups}});
  });
}

struct ModeArgs {
  gpu::ModeRequest req;
  bool force = false;
};

void add_mode_common(CLI::App* c, ModeArgs& a, bool mutating) {
  add_devices(c, a.req.devices, a.req.all);
  c->add_option("--admin-tool", a.req.admin_tool,
                "nvidia_gpu_tools.py (or its directory); default $TDXCTL_GPU_ADMIN_TOOL "
                "(get it from https://github.com/NVIDIA/gpu-admin-tools)")
      ->type_name("PATH");
  if (mutating) c->add_flag("--force", a.force, "Switch even if a VM holds the device");
}

// `status` under ppcie and cc: the same query, each group's schema.
void add_mode_status(CLI::App* group, Context& ctx, const std::string& schema) {
  auto args = std::make_shared<ModeArgs>();
  auto* status = group->add_subcommand("status", "Report each device's CC and PPCIe mode "
                                                 "(all devices when none are named)");
  add_mode_common(status, *args, false);
  status->callback([args, &ctx, schema] {
    auto devices = core::value_or_throw(gpu::mode_status(ctx.root(), ctx.probe(), args->req));
    ctx.out().emit(schema, {{"devices", gpu::to_json(devices)}},
                   [&](std::ostream& os) { gpu::print_table(os, devices); });
  });
}

void add_ppcie(CLI::App* gpu, Context& ctx) {
  auto* ppcie = gpu->add_subcommand("ppcie", "Switch or report protected-PCIe (PPCIe) mode with "
                                             "NVIDIA's nvidia_gpu_tools.py");
  ppcie->require_subcommand(1);
  for (auto mode : {gpu::PpcieMode::on, gpu::PpcieMode::off}) {
    auto args = std::make_shared<ModeArgs>();
    bool on = mode == gpu::PpcieMode::on;
    auto* c = ppcie->add_subcommand(
        on ? "on" : "off",
        on ? "Enable PPCIe: NVSwitches first, then per GPU CC off and PPCIe on (each with a reset)"
           : "Disable PPCIe: GPUs first, then NVSwitches (each with a reset)");
    add_mode_common(c, *args, true);
    c->footer(on ? "Examples:\n  tdxctl gpu ppcie on --all --admin-tool /opt/gpu-admin-tools\n"
                   "  tdxctl gpu ppcie on --all --dry-run"
                 : "Examples:\n  tdxctl gpu ppcie off --all");
    c->callback([args, mode, &ctx] {
      args->req.force = args->force ? core::Force::yes : core::Force::no;
      auto plan = core::value_or_throw(
          gpu::plan_ppcie(ctx.root(), ctx.effects(), args->req, mode, ctx.dry_run()));
      ctx.run_plan(plan.plan, "tdxctl.gpu.ppcie/1",
                   {{"mode", mode == gpu::PpcieMode::on ? "on" : "off"},
                    {"devices", gpu::to_json(plan.devices)}});
    });
  }
  add_mode_status(ppcie, ctx, "tdxctl.gpu.ppcie.status/1");
}

void add_cc(CLI::App* gpu, Context& ctx) {
  auto* cc = gpu->add_subcommand("cc", "Switch or report confidential-computing (CC) mode, one "
                                       "GPU per TD (hosts without NVSwitches), with NVIDIA's "
                                       "nvidia_gpu_tools.py");
  cc->require_subcommand(1);
  struct Verb {
    gpu::CcMode mode;
    const char* help;
    const char* footer;
  };
  const Verb verbs[] = {
      {gpu::CcMode::on,
       "Enable CC: per GPU PPCIe off, then CC on (each with a reset and a verifying query)",
       "Examples:\n  tdxctl gpu cc on --all --admin-tool /opt/gpu-admin-tools\n"
       "  tdxctl gpu cc on 0000:18:00.0 --dry-run"},
      {gpu::CcMode::off,
       "Leave every confidential mode: per GPU PPCIe off and CC off, then the selected "
       "NVSwitches' PPCIe off",
       "Examples:\n  tdxctl gpu cc off --all"},
      {gpu::CcMode::devtools,
       "CC with NVIDIA's developer tools enabled (debugging only, not for production): per "
       "GPU PPCIe off, then CC devtools",
       "Examples:\n  tdxctl gpu cc devtools 0000:18:00.0"},
  };
  for (const auto& verb : verbs) {
    auto args = std::make_shared<ModeArgs>();
    auto* c = cc->add_subcommand(gpu::cc_mode_name(verb.mode), verb.help);
    add_mode_common(c, *args, true);
    c->footer(verb.footer);
    c->callback([args, mode = verb.mode, &ctx] {
      args->req.force = args->force ? core::Force::yes : core::Force::no;
      auto plan = core::value_or_throw(
          gpu::plan_cc(ctx.root(), ctx.effects(), args->req, mode, ctx.dry_run()));
      ctx.run_plan(plan.plan, "tdxctl.gpu.cc/1",
                   {{"mode", gpu::cc_mode_name(mode)}, {"devices", gpu::to_json(plan.devices)}});
    });
  }
  add_mode_status(cc, ctx, "tdxctl.gpu.cc.status/1");
}

void add_reset(CLI::App* gpu, Context& ctx) {
  auto req = std::make_shared<gpu::ResetRequest>();
  auto* c = gpu->add_subcommand("reset", "Reset GPUs/NVSwitches with the kernel's reset "
                                         "(reset_method), naming the method, then re-probe; "
                                         "exit 3 if a device is in use");
  add_devices(c, req->devices, req->all);
  auto* method = c->add_option("--method", req->method,
                               "Reset method to use, one of the device's reset_method (flr, "
                               "bus, pm, ...); default the kernel's first")
                     ->type_name("NAME");
  c->add_flag("--rescan", req->rescan,
              "Recover a broken device instead: unbind, remove, rescan the PCI bus, put it back "
              "on its driver (NVIDIA's --fix-broken-gpu path)")
      ->excludes(method);
  c->footer("Examples:\n  tdxctl gpu reset 0000:18:00.0\n"
            "  tdxctl gpu reset 18:00.0 --method bus --dry-run\n"
            "  tdxctl gpu reset --rescan 0000:18:00.0 -o json");
  c->callback([req, &ctx] {
    auto plan = core::value_or_throw(gpu::plan_reset(ctx.root(), *req));
    ctx.run_plan(plan.plan, "tdxctl.gpu.reset/1", {{"devices", plan.devices}});
  });
}

} // namespace

void add_gpu(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand("gpu", "NVIDIA GPUs and NVSwitches: list, vfio-pci binding, "
                                          "PPCIe and CC mode, reset");
  group->require_subcommand(1);
  add_list(group, ctx);
  add_bind(group, ctx);
  add_unbind(group, ctx);
  add_ppcie(group, ctx);
  add_cc(group, ctx);
  add_reset(group, ctx);
}

} // namespace tdx::cmd
