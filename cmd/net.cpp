// tdxctl net: TD networking: bridge with NAT and port forwards, or macvtap
#include "context.hpp"

namespace tdx::cmd {

void add_net(CLI::App& app, Context&) {
  auto* group = app.add_subcommand("net", "TD networking: bridge with NAT and port forwards, or macvtap");
  group->require_subcommand(1);
  add_unbuilt_verbs(group, {{"up", "Create the bridge/tap or macvtap and firewall rules"}, {"down", "Remove what net up created"}, {"status", "Show links, forwarding and rules"}});
}

} // namespace tdx::cmd
