// tdxctl volume: Create, inspect and verify the tdx-config and tdx-cache volumes
#include "context.hpp"

namespace tdx::cmd {

void add_volume(CLI::App& app, Context&) {
  auto* group = app.add_subcommand("volume", "Create, inspect and verify the tdx-config and tdx-cache volumes");
  group->require_subcommand(1);
  add_unbuilt_verbs(group, {{"config", "Create the tdx-config volume"}, {"cache", "Create the tdx-cache volume"}, {"inspect", "Show what is in a volume"}, {"verify", "Check a volume as the guest does at boot"}});
}

} // namespace tdx::cmd
