// tdxctl up / down: the whole host flow from host.yaml.
#include "context.hpp"

namespace tdx::cmd {

void add_up(CLI::App& app, Context&) {
  for (auto [name, help] : {std::pair{"up", "Bring the host from TDX-enabled to TD running and attested"},
                            std::pair{"down", "Stop the TD and take the host networking down"}}) {
    auto* verb = app.add_subcommand(name, std::string(help) + " (not built yet)");
    verb->allow_extras();
    verb->callback([n = std::string(name)] {
      throw core::Failure(core::Category::usage, "command.not_built",
                          "tdxctl " + n + " is not built yet in this version of tdxctl",
                          "see 'tdxctl --help' for the commands that are available");
    });
  }
}

} // namespace tdx::cmd
