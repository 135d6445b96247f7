// tdxctl entry point: build the command tree, parse, run, and map every
// error to its exit code. This is the only place that catches.
#include "context.hpp"

#include "tdxctl/core/cleanup.hpp"
#include "tdxctl/core/huge_pages.hpp"
#include "tdxctl/core/log.hpp"
#include "tdxctl/core/terminal_text.hpp"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace {

// Every error the same way: under JSON output one tdxctl.error/1 document on
// stdout (unless the command already printed its own), and always the text
// on stderr.
int report(const std::string& prog, const tdx::core::Error& e, bool json) {
  using tdx::core::OutputFormat;
  if (!e.reported) tdx::core::Output(json ? OutputFormat::json : OutputFormat::text).emit_error(e);
  // Messages quote peers and files (a guest's error, a certificate name).
  std::cerr << prog << ": error: " << tdx::core::escape_control(e.message) << '\n';
  if (!e.hint.empty()) std::cerr << "hint: " << tdx::core::escape_control(e.hint) << '\n';
  return tdx::core::exit_code(e.category);
}

// Ends the process once its output is out: freeing the command tree and
// every library's state (OpenSSL's providers and error strings) at exit
// bought nothing and cost each command ~1 ms. Under AddressSanitizer the
// normal exit stays, so LeakSanitizer still runs.
[[noreturn]] void finish(int rc) {
  std::cout.flush();
  std::cerr.flush();
#if defined(__SANITIZE_ADDRESS__)
  std::exit(rc);
#else
  std::fflush(nullptr);
  std::_Exit(rc);
#endif
}

} // namespace

int main(int argc, char** argv) {
  tdx::core::use_huge_pages_for_heap(); // first: parsing 3,000 file names is fresh heap
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
  // Read from argv itself: a parse error can stop CLI11 before -o is set.
  const bool json = tdx::cmd::json_requested(argc, argv);
  try {
    app = tdx::cmd::build_cli(ctx, std::span<char* const>(argv, static_cast<size_t>(argc)));
    prog = app->get_name();
    try {
      try {
        app->parse(argc, argv);
      } catch (const CLI::ParseError& e) {
        // A tree of only the groups argv names can miss the one a word
        // meant (a group name given as --root's value): parse once more
        // with the whole tree, so the error (and its "did you mean")
        // comes from it. Nothing has run: parsing stopped at the error.
        if (e.get_exit_code() == 0) throw;
        ctx = tdx::cmd::Context{};
        app = tdx::cmd::build_cli(ctx);
        app->parse(argc, argv);
      }
    } catch (const CLI::CallForHelp& e) {
      finish(app->exit(e));
    } catch (const CLI::CallForAllHelp& e) {
      finish(app->exit(e));
    } catch (const CLI::CallForVersion& e) {
      finish(app->exit(e));
    } catch (const CLI::ParseError& e) {
      finish(report(prog, tdx::cmd::usage_error(*app, e), json));
    }
  } catch (const tdx::core::Failure& f) {
    finish(report(prog, f.error(), json || ctx.opts.output == "json"));
  } catch (const std::exception& e) {
    // A bug, not a user error; still one document for the script that ran us.
    tdx::core::Error internal{tdx::core::Category::failed, "internal", std::string("internal error: ") + e.what(), {}};
    finish(report(prog, internal, json || ctx.opts.output == "json"));
  }
  finish(0);
}
