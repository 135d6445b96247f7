// tdxctl net: TD networking: bridge with NAT and port forwards, or macvtap.
#include "context.hpp"

#include "tdxctl/net/network_spec.hpp"
#include "tdxctl/net/recipes.hpp"
#include "tdxctl/up/host_file.hpp"

namespace tdx::cmd {

namespace {

struct UpArgs {
  std::string config;
  std::string mode = "bridge";
  net::NetRequest flags;
  std::vector<CLI::Option*> given; // options whose value overrides host.yaml
};

} // namespace

void add_net(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand("net", "TD networking: bridge with NAT and port forwards, or macvtap");
  group->require_subcommand(1);

  auto args = std::make_shared<UpArgs>();
  auto* up = group->add_subcommand(
      "up", "Create the bridge and tap (NAT, port forwards) or a macvtap; idempotent");
  up->add_option("-c,--config", args->config, "Read the network: section of this host.yaml (flags override it)")
      ->type_name("FILE")
      ->check(CLI::ExistingFile);
  auto& f = args->flags;
  auto* mode = add_choice(up, "--mode", args->mode, {"bridge", "macvtap"}, "Private bridge with NAT, or macvtap on the public interface");
  auto* bridge = up->add_option("--bridge", f.bridge, "Bridge name (default br-tdx)")->type_name("NAME");
  auto* baddr = up->add_option("--bridge-address", f.bridge_address, "Bridge address/prefix (default 192.168.100.1/24)")->type_name("CIDR");
  auto* vm = up->add_option("--vm-address", f.vm_address, "The TD's address on the bridge (default 192.168.100.2)")->type_name("ADDR");
  auto* tap = up->add_option("--tap", f.tap, "Tap name (default vmtap0)")->type_name("NAME");
  auto* user = up->add_option("--tap-user", f.tap_user, "Owner of the tap: the user QEMU runs as (default libvirt-qemu, else root)")->type_name("USER");
  auto* pub = up->add_option("--public-interface", f.public_interface, "Interface for NAT and forwards, or the macvtap's parent (default: the default route's)")->type_name("IFACE");
  auto* fwd = up->add_option("--forward", f.forwards, "Forwarded port, repeatable: proto/port[-port][:guestport] (default tcp/6443 tcp/30000-32767)")->type_name("SPEC");
  auto* mvt = up->add_option("--macvtap", f.macvtap, "Macvtap name (default tdx-macvtap0)")->type_name("NAME");
  auto* fw = add_choice(up, "--firewall", f.firewall, {"auto", "iptables", "nftables"},
                        "Firewall backend: own iptables chains, or an nftables table (auto: nftables when the host has an inet table)");
  args->given = {mode, bridge, baddr, vm, tap, user, pub, fwd, mvt, fw};
  up->footer("Examples:\n  tdxctl net up\n  tdxctl net up --public-interface eth0 --forward tcp/6443 --forward tcp/2222:22\n"
             "  tdxctl net up -c /etc/tdxctl/host.yaml --dry-run\n  tdxctl net up --mode macvtap --public-interface eth0 -o json");
  up->callback([args, &ctx] {
    net::NetRequest request;
    if (!args->config.empty())
      if (auto from_file = up::load_host_file(args->config, up::HostFileUse::network).network)
        request = *from_file;
    auto& f = args->flags;
    auto given = [&](int i) { return args->given[i]->count() > 0; };
    if (given(0)) request.mode = args->mode == "macvtap" ? net::Mode::macvtap : net::Mode::bridge;
    if (given(1)) request.bridge = f.bridge;
    if (given(2)) request.bridge_address = f.bridge_address;
    if (given(3)) request.vm_address = f.vm_address;
    if (given(4)) request.tap = f.tap;
    if (given(5)) request.tap_user = f.tap_user;
    if (given(6)) request.public_interface = f.public_interface;
    if (given(7)) request.forwards = f.forwards;
    if (given(8)) request.macvtap = f.macvtap;
    if (given(9)) request.firewall = f.firewall;
    net::NetEnv env{ctx.root(), ctx.probe(), ctx.effects()};
    auto plan = net::plan_up(env, request);
    ctx.run_plan(plan.plan, "tdxctl.net.up/1", *plan.summary);
  });

  auto* down = group->add_subcommand("down", "Remove exactly what net up created and restore ip_forward");
  down->footer("Examples:\n  tdxctl net down\n  tdxctl net down --dry-run");
  down->callback([&ctx] {
    net::NetEnv env{ctx.root(), ctx.probe(), ctx.effects()};
    auto plan = net::plan_down(env);
    ctx.run_plan(plan.plan, "tdxctl.net.down/1", *plan.summary);
  });

  auto* status = group->add_subcommand("status", "Show the links, addresses, forwarding and each tdxctl rule with its counters");
  status->footer("Examples:\n  tdxctl net status\n  tdxctl net status -o json");
  status->callback([&ctx] {
    net::NetEnv env{ctx.root(), ctx.probe(), ctx.effects()};
    auto doc = net::net_status(env);
    ctx.out().emit("tdxctl.net.status/1", doc, [&](std::ostream& os) { net::print_status(os, doc); });
  });
}

} // namespace tdx::cmd
