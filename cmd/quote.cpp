// tdxctl quote: TDX quotes: generate in a guest, fetch from a guest, show and verify
#include "context.hpp"

namespace tdx::cmd {

void add_quote(CLI::App& app, Context&) {
  auto* group = app.add_subcommand("quote", "TDX quotes: generate in a guest, fetch from a guest, show and verify");
  group->require_subcommand(1);
  add_unbuilt_verbs(group, {{"show", "Decode a quote"}, {"verify", "Verify quotes with Intel DCAP collateral and a policy"}, {"fetch", "Fetch a fresh quote from a running TD"}, {"generate", "Generate a quote inside a TD"}, {"serve", "Answer quote requests inside a TD"}});
}

} // namespace tdx::cmd
