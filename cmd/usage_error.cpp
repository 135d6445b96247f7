// CLI11's parse errors as tdxctl Errors: exit 2, a stable code per kind of
// mistake, and a hint that names the command's --help (or the verb the user
// probably meant). Main reports them like every other error, so scripts get
// the same JSON error document for a mistyped flag as for a failed step.
#include "context.hpp"

#include <algorithm>
#include <string_view>

namespace tdx::cmd {

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

// One stable code per kind of CLI11 error. By its exit code: the class
// name (get_name) is sometimes the app's name instead (ExtrasError).
std::string code_for(const CLI::ParseError& e) {
  switch (static_cast<CLI::ExitCodes>(e.get_exit_code())) {
  case CLI::ExitCodes::RequiredError: return "usage.missing";
  case CLI::ExitCodes::ExtrasError: return "usage.unexpected_argument";
  case CLI::ExitCodes::ValidationError:
  case CLI::ExitCodes::ConversionError: return "usage.invalid_value";
  case CLI::ExitCodes::ArgumentMismatch: return "usage.argument_count";
  case CLI::ExitCodes::RequiresError: return "usage.requires";
  case CLI::ExitCodes::ExcludesError: return "usage.excludes";
  case CLI::ExitCodes::FileError: return "usage.no_such_file";
  default: return "usage.parse";
  }
}

} // namespace

core::Error usage_error(const CLI::App& app, const CLI::ParseError& e) {
  std::string path = app.get_name();
  const CLI::App* at = deepest(&app, path);
  auto extras = at->remaining();
  if (extras.empty()) extras = app.remaining();
  const std::string help = "see '" + path + " --help'";
  if (auto s = suggestion(at, extras); !s.empty())
    return core::Error{core::Category::usage, "usage.unknown_command",
                       "unknown command '" + extras.front() + "'",
                       "did you mean '" + path + " " + s + "'? " + help};
  return core::Error{core::Category::usage, code_for(e), e.what(), help};
}

bool json_requested(int argc, const char* const* argv) {
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") break; // the rest are positionals
    if (a == "--json") json = true;
    else if (a.starts_with("--output=")) json = a.substr(9) == "json";
    else if (a.starts_with("-o") && a.size() > 2) json = a.substr(2) == "json";
    else if ((a == "-o" || a == "--output") && i + 1 < argc) json = std::string_view(argv[++i]) == "json";
  }
  return json;
}

} // namespace tdx::cmd
