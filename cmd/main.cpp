// tdxctl entry point: build the command tree, parse, run, and map every
// error to its exit code. This is the only place that catches.
#include "context.hpp"

#include "tdxctl/core/cleanup.hpp"
#include "tdxctl/core/log.hpp"
#include "tdxctl/core/terminal_text.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <csignal>
#include <iostream>

namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// The deepest subcommand that was parsed, and its command path.
const CLI::App* deepest(const CLI::App* app, std::string& path) {
  for (const auto* sub : app->get_subcommands()) {
    path += " " + sub->get_name();
    return deepest(sub, path);
  }
  return app;
}

// "did you mean" for a mistyped verb (CLI11 2.1 has no suggestions).
std::string suggestion(const CLI::App* app, const std::vector<std::string>& extras) {
  if (extras.empty()) return {};
  std::string best;
  size_t best_d = 3;
  for (const auto* sub : app->get_subcommands([](const CLI::App*) { return true; })) {
    if (sub->get_group().empty()) continue;
    size_t d = edit_distance(extras.front(), sub->get_name());
    if (d < best_d) best_d = d, best = sub->get_name();
  }
  return best;
}

} // namespace

int main(int argc, char** argv) {
  // A child that exits before reading its stdin (iptables-restore failing
  // on line 1 of a long ruleset) must be a failed step that rolls back, not
  // a SIGPIPE that kills tdxctl half-way through a plan. Writes then fail
  // with EPIPE, which the runner handles; children get SIGPIPE back
  // (the runner resets it in each spawn).
  ::signal(SIGPIPE, SIG_IGN);
  tdx::core::install_cleanup_handlers();
  tdx::cmd::Context ctx;
  std::unique_ptr<CLI::App> app;
  std::string prog = "tdxctl"; // or tdxctl-guest: messages name the binary that ran
  try {
    app = tdx::cmd::build_cli(ctx);
    prog = app->get_name();
    try {
      app->parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
      return app->exit(e);
    } catch (const CLI::CallForAllHelp& e) {
      return app->exit(e);
    } catch (const CLI::CallForVersion& e) {
      return app->exit(e);
    } catch (const CLI::ParseError& e) {
      std::string path = prog;
      const CLI::App* at = deepest(app.get(), path);
      auto extras = at->remaining();
      if (extras.empty()) extras = app->remaining();
      auto s = suggestion(at, extras);
      if (!s.empty())
        std::cerr << prog << ": error: unknown command '" << extras.front() << "'\n"
                  << "hint: did you mean '" << path << " " << s << "'?\n";
      else
        std::cerr << prog << ": error: " << e.what() << '\n';
      std::cerr << "hint: see '" << path << " --help'\n";
      return 2;
    }
  } catch (const tdx::core::Failure& f) {
    const auto& e = f.error();
    if (!e.reported) ctx.out().emit_error(e);
    // Messages quote peers and files (a guest's error, a certificate name).
    std::cerr << prog << ": error: " << tdx::core::escape_control(e.message) << '\n';
    if (!e.hint.empty()) std::cerr << "hint: " << tdx::core::escape_control(e.hint) << '\n';
    return tdx::core::exit_code(e.category);
  } catch (const std::exception& e) {
    std::cerr << prog << ": internal error: " << tdx::core::escape_control(e.what()) << '\n';
    return 1;
  }
  return 0;
}
