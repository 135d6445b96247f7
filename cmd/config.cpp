// tdxctl config: host.yaml: write a starting file, validate one
#include "context.hpp"

namespace tdx::cmd {

void add_config(CLI::App& app, Context&) {
  auto* group = app.add_subcommand("config", "host.yaml: write a starting file, validate one");
  group->require_subcommand(1);
  add_unbuilt_verbs(group, {{"init", "Write a commented host.yaml from this host"}, {"check", "Validate a host.yaml"}});
}

} // namespace tdx::cmd
