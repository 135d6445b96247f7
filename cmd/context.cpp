// Context: built lazily so that --root is validated only by commands that
// use it, and the effects runner is a RecordingRunner whenever --dry-run is
// given (the probe runner is always the real one).
#include "context.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <iostream>

namespace tdx::cmd {

const core::Root& Context::root() {
  if (!m_root) m_root = core::Root::from_option(opts.root);
  return *m_root;
}

const core::Output& Context::out() {
  if (!m_out)
    m_out.emplace(opts.output == "json" ? core::OutputFormat::json : core::OutputFormat::text);
  return *m_out;
}

core::ProcessRunner& Context::effects() {
  if (opts.dry_run) {
    if (!m_effects) m_effects = std::make_unique<core::RecordingRunner>();
    return *m_effects;
  }
  return m_probe;
}

std::string Context::connect_uri() const {
  if (!opts.connect.empty()) return opts.connect;
  if (const char* env = std::getenv("LIBVIRT_DEFAULT_URI"); env && *env) return env;
  return "qemu:///system";
}

std::unique_ptr<core::ProgressSink> Context::progress() const {
  if (opts.quiet || opts.progress == "none") return core::make_stderr_progress(core::ProgressMode::none);
  if (opts.progress == "bar") return core::make_stderr_progress(core::ProgressMode::bar);
  if (opts.progress == "plain") return core::make_stderr_progress(core::ProgressMode::plain);
  if (opts.progress == "json") return core::make_stderr_progress(core::ProgressMode::json);
  return core::make_stderr_progress(core::ProgressMode::automatic);
}

core::PlanReport Context::run_plan(const core::Plan& plan, std::string_view schema,
                                   const core::Json& extra) {
  auto sink = progress();
  auto report = plan.apply(dry_run(), *sink);
  auto doc = report.to_json();
  if (report.dry_run) doc["plan"] = plan.to_json();
  for (auto it = extra.begin(); it != extra.end(); ++it) doc[it.key()] = it.value();
  out().emit(schema, doc, [&](std::ostream& os) {
    if (report.dry_run) {
      os << "plan (" << plan.steps().size() << " steps):\n";
      plan.print(os);
    }
    report.print(os);
  });
  return report;
}

static std::map<const CLI::Option*, std::vector<std::string>>& choice_registry() {
  static std::map<const CLI::Option*, std::vector<std::string>> registry;
  return registry;
}

CLI::Option* add_choice(CLI::App* app, const std::string& name, std::string& value,
                        const std::vector<std::string>& choices, const std::string& help) {
  std::string list;
  for (const auto& c : choices) list += (list.empty() ? "" : "|") + c;
  auto* opt = app->add_option(name, value, help + " (" + list + ")")
                  ->check(CLI::IsMember(choices))
                  ->type_name("WORD");
  choice_registry()[opt] = choices;
  return opt;
}

CLI::Option* add_seconds(CLI::App* app, const std::string& name, int& value, const std::string& help) {
  return app->add_option(name, value, help)->check(CLI::Range(0, 86400));
}

const std::vector<std::string>* choices_of(const CLI::Option* option) {
  auto it = choice_registry().find(option);
  return it == choice_registry().end() ? nullptr : &it->second;
}

static std::map<const CLI::App*, std::string>& man_registry() {
  static std::map<const CLI::App*, std::string> registry;
  return registry;
}

void set_man_sections(const CLI::App* group, std::string roff) { man_registry()[group] = std::move(roff); }

const std::string* man_sections_of(const CLI::App* group) {
  auto it = man_registry().find(group);
  return it == man_registry().end() ? nullptr : &it->second;
}

core::Bytes hex_arg(const std::string& text, const char* option, size_t want) {
  auto bytes = core::from_hex(text, option);
  if (!bytes || (want && bytes->size() != want))
    throw core::Failure(core::Category::usage, "quote.bad_hex",
                        fmt::format("{} must be exactly {} hex digits ({} bytes){}", option,
                                    2 * want, want,
                                    bytes ? fmt::format("; got {} bytes", bytes->size())
                                          : ": " + bytes.error().message));
  return *bytes;
}

} // namespace tdx::cmd
