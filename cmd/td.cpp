// tdxctl td: the TD through libvirt: render, launch, stop, status, list, undefine.
#include "context.hpp"

#include "tdxctl/core/fs.hpp"
#include "tdxctl/core/terminal_text.hpp"
#include "tdxctl/quote/batch.hpp"
#include "tdxctl/td/console.hpp"
#include "tdxctl/td/console_log.hpp"
#include "tdxctl/td/kubevirt.hpp"
#include "tdxctl/td/launch.hpp"
#include "tdxctl/td/lifecycle.hpp"
#include "tdxctl/up/host_file.hpp"

#include <unistd.h>

#include <iostream>

namespace tdx::cmd {

namespace {

// -c and the flags that describe the TD.
struct SpecArgs {
  std::string config;
  td::SpecOverrides flags;
  td::TdSpec spec() const { return up::load_td_spec(config, flags); }
};

void add_spec_options(CLI::App* c, SpecArgs& args) {
  c->add_option("-c,--config", args.config, "host.yaml whose td: section describes the TD")
      ->type_name("FILE");
  auto& o = args.flags;
  c->add_option("--name", o.name, "Domain name (default td)");
  c->add_option("--vcpus", o.vcpus, "vCPUs (default 32)")->check(CLI::Range(1, 512));
  c->add_option("--memory-gib", o.memory_gib, "Memory in GiB (default 100)")
      ->check(CLI::Range(1, 8192));
  c->add_option("--image", o.image, "Root disk image (first virtio disk, vda)")->type_name("PATH");
  c->add_option("--config-volume", o.config_volume,
                "tdx-config volume (vdb, read-only); its PATH.sha384 manifest gives mrConfigId")
      ->type_name("PATH");
  c->add_option("--cache-volume", o.cache_volume, "tdx-cache volume (vdc)")->type_name("PATH");
  c->add_option("--containerd-volume", o.containerd_volume, "containerd volume (vdd)")
      ->type_name("PATH");
  c->add_option("--gpu", o.gpus, "GPU PCI address to pass through (repeatable), or all-bound")
      ->type_name("BDF");
  c->add_option("--nvswitch", o.nvswitches, "NVSwitch PCI address to pass through (repeatable)")
      ->type_name("BDF");
  c->add_option("--bridge", o.bridge, "Attach the NIC to this bridge (tap)")->type_name("BRIDGE");
  c->add_option("--macvtap", o.macvtap, "Attach the NIC as macvtap on this device")
      ->type_name("DEV");
  c->add_option("--mac", o.mac, "NIC MAC address (default 52:54:00:12:34:56)");
  c->add_option("--firmware", o.firmware, "TDVF/OVMF loader (default: first found)")
      ->type_name("PATH");
  c->add_option("--boot", o.boot,
                "direct: boot the kernel, initrd and command line in the image's manifest "
                "(default); firmware: the image's own bootloader")
      ->check(CLI::IsMember({"direct", "firmware"}))
      ->type_name("MODE");
  c->add_option("--qgs-socket", o.qgs_socket,
                "Quote generation service socket: PATH or unix:PATH (default "
                "/var/run/tdx-qgs/qgs.socket); vsock forms have no libvirt form (exit 2)")
      ->type_name("PATH");
  c->add_flag("--no-qgs", o.no_qgs, "Omit quoteGenerationService");
  c->add_option("--mr-config-id", o.mr_config_id,
                "MRCONFIGID: 96 hex digits or base64 of 48 bytes (default: config volume manifest)");
  c->add_option("--mr-owner", o.mr_owner, "MROWNER: 96 hex digits or base64 of 48 bytes");
  c->add_option("--mr-owner-config", o.mr_owner_config,
                "MROWNERCONFIG: 96 hex digits or base64 of 48 bytes");
  c->add_option("--vsock-cid", o.vsock_cid, "Guest vsock CID (default 3)");
  c->add_flag("--debug", o.debug, "Set the TDX DEBUG attribute (never in production); name gets -debug");
  c->add_flag("--no-tdx", o.no_tdx,
              "INSECURE development profile: a plain VM with the same disks and network");
}

void warn_insecure(const td::RenderedDomain& d) {
  if (d.insecure) std::cerr << "WARNING: " << td::insecure_banner << "\n";
  if (d.debug) std::cerr << "WARNING: DEBUG TD " << d.name << ": the host can read its state\n";
}

core::Json domain_json(const td::RenderedDomain& d) {
  core::Json j = {{"name", d.name},
                  {"topology_digest", d.topology_digest},
                  {"tdx", !d.insecure},
                  {"debug", d.debug},
                  {"insecure", d.insecure || d.debug}};
  if (d.insecure) j["warning"] = td::insecure_banner;
  return j;
}

void add_schema_option(CLI::App* c, std::string& schema) {
  c->add_option("--schema", schema, "Also validate against this RelaxNG schema (libvirt's domain.rng)")
      ->type_name("RNG");
}

void print_libvirt(Context& ctx, const SpecArgs& args, const std::string& schema) {
  auto d = core::value_or_throw(td::prepare_domain(ctx.root(), args.spec(), "kvm", args.config));
  if (!schema.empty()) core::value_or_throw(td::validate_domain_xml(d.xml, schema));
  warn_insecure(d);
  auto doc = domain_json(d);
  doc["policy"] = d.policy.empty() ? core::Json(nullptr) : core::Json(d.policy);
  doc["mr_config_id"] = d.mr_config_id.empty() ? core::Json(nullptr) : core::Json(d.mr_config_id);
  doc["boot"] = d.boot ? d.boot->to_json() : core::Json{{"mode", "firmware"}};
  if (!schema.empty()) doc["validated_against"] = schema;
  doc["xml"] = d.xml;
  ctx.out().emit("tdxctl.td.xml/1", doc, [&](std::ostream& os) { os << d.xml; });
}

} // namespace

void add_td(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand("td", "The TD through libvirt: render, launch, stop, status");
  group->require_subcommand(1);

  // xml (libvirt) and render (libvirt or KubeVirt)
  {
    struct Args {
      SpecArgs spec;
      std::string schema;
      std::string format = "libvirt";
      std::string kernel_container;
    };
    auto xml_args = std::make_shared<Args>();
    auto* c = group->add_subcommand("xml", "Print the TD domain XML (no libvirt needed)");
    add_spec_options(c, xml_args->spec);
    add_schema_option(c, xml_args->schema);
    c->footer("Examples:\n  tdxctl td xml -c /etc/tdxctl/host.yaml\n"
              "  tdxctl td xml --image td.qcow2 --config-volume cfg.qcow2 --gpu all-bound "
              "--bridge br0\n  tdxctl td xml --no-tdx --image td.qcow2 -o json");
    c->callback([xml_args, &ctx] { print_libvirt(ctx, xml_args->spec, xml_args->schema); });

    auto args = std::make_shared<Args>();
    auto* r = group->add_subcommand(
        "render", "Print the TD for libvirt (domain XML, as td xml) or KubeVirt (a VirtualMachine)");
    add_spec_options(r, args->spec);
    r->add_option("--format", args->format,
                  "libvirt (default): the domain XML; kubevirt: a kubevirt.io/v1 VirtualMachine in "
                  "YAML, with what KubeVirt cannot express listed")
        ->check(CLI::IsMember({"libvirt", "kubevirt"}))
        ->type_name("FORMAT");
    add_schema_option(r, args->schema);
    r->add_option("--kernel-container", args->kernel_container,
                  "kubevirt: container image holding the direct-boot kernel and initrd under /boot "
                  "(KubeVirt's kernelBoot); without it direct boot is listed as unmapped")
        ->type_name("IMAGE");
    r->footer("Examples:\n  tdxctl td render --format kubevirt -c /etc/tdxctl/host.yaml > td.yaml\n"
              "  tdxctl td render --format kubevirt -c host.yaml --name td-0 -o json | jq .unmapped\n"
              "  tdxctl td render -c host.yaml --schema /usr/share/libvirt/schemas/domain.rng");
    r->callback([args, &ctx] {
      if (args->format == "libvirt") {
        if (!args->kernel_container.empty())
          throw core::Failure(core::Category::usage, "td.render_flag",
                              "--kernel-container applies to --format kubevirt only");
        print_libvirt(ctx, args->spec, args->schema);
        return;
      }
      if (!args->schema.empty())
        throw core::Failure(core::Category::usage, "td.render_flag",
                            "--schema validates libvirt domain XML; it does not apply to --format kubevirt",
                            "validate the manifest with `kubectl apply --dry-run=server -f FILE`");
      auto spec = args->spec.spec();
      auto d = core::value_or_throw(td::prepare_domain(ctx.root(), spec, "kvm", args->spec.config));
      auto k = core::value_or_throw(
          td::render_kubevirt(ctx.root(), spec, d, {args->kernel_container}));
      warn_insecure(d);
      if (!k.unmapped.empty())
        std::cerr << "note: " << k.unmapped.size()
                  << " TD setting(s) have no KubeVirt form; the manifest's header (JSON: unmapped) lists them\n";
      ctx.out().emit("tdxctl.td.kubevirt/1", k.to_json(), [&](std::ostream& os) { os << k.to_yaml(); });
    });
  }

  // launch
  {
    struct Args {
      SpecArgs spec;
      bool autostart = false;
      bool require_attestation = false;
    };
    auto args = std::make_shared<Args>();
    auto* c = group->add_subcommand(
        "launch", "Define and start the TD (refuses when the host, GPUs, volumes or QGS are not ready)");
    add_spec_options(c, args->spec);
    c->add_flag("--autostart", args->autostart, "Start the TD when the host boots");
    c->add_flag("--require-attestation", args->require_attestation,
                "Refuse to launch without a quote generation service socket");
    c->footer("Examples:\n  tdxctl td launch -c /etc/tdxctl/host.yaml --require-attestation\n"
              "  tdxctl --dry-run td launch -c host.yaml\n"
              "  tdxctl --connect test:///default td launch --no-tdx --image td.qcow2 "
              "--firmware OVMF.fd");
    c->callback([args, &ctx] {
      auto l = td::launch(ctx.root(), ctx.probe(),
                          {args->spec.spec(), args->spec.config,
                           {args->require_attestation, true, ctx.connect_uri()},
                           args->autostart});
      warn_insecure(l.domain);
      ctx.run_plan(std::move(l.plan), "tdxctl.td.launch/1", domain_json(l.domain));
    });
  }

  // stop
  {
    struct Args {
      std::string name = "td";
      td::StopOptions options;
    };
    auto args = std::make_shared<Args>();
    auto* c = group->add_subcommand("stop", "Shut the TD down (ACPI), then destroy with --force");
    c->add_option("name", args->name, "Domain name (default td)");
    add_seconds(c, "--timeout", args->options.timeout_s, "Seconds to wait for the guest (default 120)");
    c->add_flag("--force", args->options.force, "Destroy the domain if it does not stop in time");
    c->callback([args, &ctx] {
      auto conn = td::Connection::open(ctx.connect_uri());
      ctx.run_plan(td::plan_stop(conn, args->name, args->options), "tdxctl.td.stop/1",
                   core::Json{{"name", args->name}});
    });
  }

  // status
  {
    struct Args {
      std::string name;
      SpecArgs spec;
    };
    auto args = std::make_shared<Args>();
    auto* c = group->add_subcommand(
        "status", "Show state, uptime, vCPUs, memory, devices, vsock CID and topology digest");
    c->add_option("name", args->name, "Domain name (default: td.name from -c, else td)");
    c->add_option("-c,--config", args->spec.config,
                  "host.yaml: also compare the recorded topology with what it renders now")
        ->type_name("FILE");
    c->callback([args, &ctx] {
      auto conn = td::Connection::open(ctx.connect_uri());
      std::optional<td::RenderedDomain> expected;
      if (!args->spec.config.empty())
        expected = core::value_or_throw(td::prepare_domain(
            ctx.root(), args->spec.spec(), conn->domain_type(), args->spec.config));
      std::string name = !args->name.empty() ? args->name : expected ? expected->name : "td";
      auto st = core::value_or_throw(td::domain_status(*conn, name));
      if (expected) st.expected_digest = expected->topology_digest;
      ctx.out().emit("tdxctl.td.status/1", st.to_json(), [&](std::ostream& os) { st.print(os); });
    });
  }

  // list
  {
    auto* c = group->add_subcommand("list", "List domains with their tdxctl profile and topology");
    c->callback([&ctx] {
      auto conn = td::Connection::open(ctx.connect_uri());
      auto list = td::list_domains(*conn);
      ctx.out().emit("tdxctl.td.list/1", td::to_json(list),
                     [&](std::ostream& os) { td::print(os, list); });
    });
  }

  // logs
  {
    struct Args {
      std::string name = "td";
      bool follow = false;
      std::string since;
    };
    auto args = std::make_shared<Args>();
    auto* c = group->add_subcommand("logs", "Print the TD's console log (" + std::string(td::console_log_dir) +
                                                "/NAME.console.log)");
    c->add_option("name", args->name, "Domain name (default td)");
    c->add_flag("-f,--follow", args->follow, "Keep printing what the TD writes (Ctrl-C ends)");
    c->add_option("--since", args->since, "Start at the first boot at or after TIME (RFC 3339 UTC or Unix seconds)")
        ->type_name("TIME");
    c->footer("Examples:\n  tdxctl td logs mytd\n  tdxctl td logs mytd -f\n"
              "  tdxctl td logs mytd --since 2026-12-01T00:00:00Z");
    c->callback([args, &ctx] {
      td::LogRequest request{args->name, 0};
      if (!args->since.empty()) {
        auto since = quote::parse_verify_time(args->since);
        if (!since)
          throw core::Failure(core::Category::usage, "td.bad_since",
                              "--since '" + args->since + "': expected YYYY-MM-DDThh:mm:ssZ or Unix seconds");
        request.since = *since;
      }
      auto text = core::value_or_throw(td::read_console_log(ctx.root(), request));
      ctx.out().emit("tdxctl.td.logs/1",
                     core::Json{{"name", args->name}, {"file", td::console_log_path(args->name)}, {"log", text}},
                     [&](std::ostream& os) { os << text; });
      if (!args->follow || ctx.out().json()) return;
      // Only what comes after: the current file as read above was printed.
      auto current = core::read_file(ctx.root().path(td::console_log_path(args->name)));
      size_t offset = current ? current->size() : 0;
      td::follow_console_log(
          ctx.root(), args->name, offset,
          [](std::string_view chunk) {
            std::cout << core::escape_control(chunk) << std::flush;
          },
          [] { return true; });
    });
  }

  // console
  {
    auto name = std::make_shared<std::string>("td");
    auto* c = group->add_subcommand("console", "Attach to the TD's console through libvirt (detach with " +
                                                   std::string(td::console_escape_name) + ")");
    c->add_option("name", *name, "Domain name (default td)");
    c->footer("Examples:\n  tdxctl td console mytd\n  tdxctl --connect qemu:///system td console mytd");
    c->callback([name, &ctx] {
      auto conn = td::Connection::open(ctx.connect_uri());
      core::value_or_throw(td::attach_console(*conn, *name, STDIN_FILENO, STDOUT_FILENO));
    });
  }

  // undefine
  {
    struct Args {
      std::string name = "td";
      bool force = false;
    };
    auto args = std::make_shared<Args>();
    auto* c = group->add_subcommand("undefine", "Remove the TD definition (disks are kept)");
    c->add_option("name", args->name, "Domain name (default td)");
    c->add_flag("--force", args->force, "Destroy the domain first if it is running");
    c->callback([args, &ctx] {
      auto conn = td::Connection::open(ctx.connect_uri());
      ctx.run_plan(td::plan_undefine(conn, args->name, args->force), "tdxctl.td.undefine/1",
                   core::Json{{"name", args->name}});
    });
  }
}

} // namespace tdx::cmd
