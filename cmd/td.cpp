// tdxctl td: The TD through libvirt: render, launch, stop, status
#include "context.hpp"

namespace tdx::cmd {

void add_td(CLI::App& app, Context&) {
  auto* group = app.add_subcommand("td", "The TD through libvirt: render, launch, stop, status");
  group->require_subcommand(1);
  add_unbuilt_verbs(group, {{"xml", "Print the TD domain XML"}, {"launch", "Define and start the TD"}, {"stop", "Shut the TD down"}, {"status", "Show the TD state"}, {"list", "List TDs"}, {"undefine", "Remove the TD definition"}});
}

} // namespace tdx::cmd
