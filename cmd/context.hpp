#pragma once
// Global options and the per-invocation Context every command handler gets:
// the Root, the output format, the probe and effects runners (the latter
// recording under --dry-run), progress and the libvirt URI. Command files
// take what they need from here and call one lib/ function.

#include "tdxctl/core/hex.hpp"
#include "tdxctl/core/output.hpp"
#include "tdxctl/core/plan.hpp"
#include "tdxctl/core/progress.hpp"
#include "tdxctl/core/root.hpp"
#include "tdxctl/core/runner.hpp"

#include <CLI/CLI.hpp>

#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace tdx::cmd {

struct GlobalOptions {
  std::string root;    // --root / TDXCTL_ROOT
  std::string connect; // --connect / LIBVIRT_DEFAULT_URI
  std::string output = "text";
  std::string progress = "auto";
  bool dry_run = false;
  bool yes = false;
  int verbose = 0;
  bool quiet = false;
};

class Context {
public:
  GlobalOptions opts;

  const core::Root& root();
  const core::Output& out();
  // The process seam, handed to lib as parameters. probe(): read-only
  // commands (qemu-img info, iptables-save), which run even under --dry-run
  // because a plan must read the truth. effects(): commands that change
  // things; a RecordingRunner under --dry-run.
  core::ProcessRunner& probe() { return m_probe; }
  core::ProcessRunner& effects();
  core::DryRun dry_run() const { return opts.dry_run ? core::DryRun::yes : core::DryRun::no; }
  std::string connect_uri() const;
  std::unique_ptr<core::ProgressSink> progress() const;

  // Applies (or under --dry-run prints) a plan and emits the report under
  // `schema`, with `extra` fields merged into the JSON document.
  core::PlanReport run_plan(const core::Plan& plan, std::string_view schema,
                            const core::Json& extra = core::Json::object());

private:
  std::optional<core::Root> m_root;
  std::optional<core::Output> m_out;
  core::RealRunner m_probe;
  std::unique_ptr<core::ProcessRunner> m_effects;
};

// Options with a fixed set of values, remembered for completions and man pages.
CLI::Option* add_choice(CLI::App* app, const std::string& name, std::string& value,
                        const std::vector<std::string>& choices, const std::string& help);
const std::vector<std::string>* choices_of(const CLI::Option* option);

// A wait in whole seconds (--timeout): 0 to one day, so a typo cannot park a
// script for a year.
CLI::Option* add_seconds(CLI::App* app, const std::string& name, int& value, const std::string& help);

// Extra man page sections (raw roff, e.g. ".SH PROTOCOL ...") for a group,
// placed before GLOBAL OPTIONS in tdxctl-<group>(1).
void set_man_sections(const CLI::App* group, std::string roff);
const std::string* man_sections_of(const CLI::App* group);

// A hex flag value of exactly `want` bytes (0: any length); usage error otherwise.
core::Bytes hex_arg(const std::string& text, const char* option, size_t want);

// Command groups (one file each).
void add_host(CLI::App& app, Context& ctx);
void add_image(CLI::App& app, Context& ctx);
void add_volume(CLI::App& app, Context& ctx);
void add_gpu(CLI::App& app, Context& ctx);
void add_net(CLI::App& app, Context& ctx);
void add_td(CLI::App& app, Context& ctx);
void add_quote(CLI::App& app, Context& ctx);
void add_policy(CLI::App& app, Context& ctx);
// Measured-boot verbs of the image and quote groups (cmd/measure.cpp).
void add_image_measure(CLI::App* group, Context& ctx);
void add_quote_eventlog(CLI::App* group, Context& ctx);
void add_quote_generate(CLI::App* quote_group, Context& ctx); // shared with tdxctl-guest
void add_quote_serve(CLI::App* quote_group, Context& ctx);    // shared with tdxctl-guest
void add_collateral(CLI::App& app, Context& ctx);
void add_unlock(CLI::App& app, Context& ctx);
void add_keys(CLI::App& app, Context& ctx);
void add_measure_capture(CLI::App& app, Context& ctx); // shared with tdxctl-guest
void add_up(CLI::App& app, Context& ctx);
void add_config(CLI::App& app, Context& ctx);
void add_completion(CLI::App& app, Context& ctx);

// The command tree for this command line: only the top-level groups that
// args names, since building all of them costs every command ~2 ms of its
// start-up; the whole tree when args names none (top-level help, a mistyped
// group), asks for help, or runs completion or man, which walk it. Without
// args: the whole tree.
std::unique_ptr<CLI::App> build_cli(Context& ctx, std::span<char* const> args = {});
// --accept STATUS,...: TCB status names only (quote verify/fetch, policy init).
void add_accept_option(CLI::App* cmd, std::vector<std::string>& accept);

// A CLI11 parse error as a usage Error (exit 2) with a stable code and a
// hint naming the command's --help or the verb meant (cmd/usage_error.cpp).
core::Error usage_error(const CLI::App& app, const CLI::ParseError& e);
// Whether argv asks for JSON output (-o json, --output[=]json, --json): read
// before parsing, so that an argv CLI11 rejects still gets a JSON error.
bool json_requested(int argc, const char* const* argv);

// Generators over the command tree.
std::string completion_script(const CLI::App& app, const std::string& shell);
// name "" is tdxctl(1); otherwise a group name, giving tdxctl-<group>(1).
std::string man_page(const CLI::App& app, const std::string& group);
std::vector<std::string> man_page_groups(const CLI::App& app);

} // namespace tdx::cmd
