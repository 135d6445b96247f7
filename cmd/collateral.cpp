// tdxctl collateral: Intel PCS/PCCS collateral: fetch into the local cache
#include "context.hpp"

namespace tdx::cmd {

void add_collateral(CLI::App& app, Context&) {
  auto* group = app.add_subcommand("collateral", "Intel PCS/PCCS collateral: fetch into the local cache");
  group->require_subcommand(1);
  add_unbuilt_verbs(group, {{"fetch", "Fetch collateral for an FMSPC into the cache"}});
}

} // namespace tdx::cmd
