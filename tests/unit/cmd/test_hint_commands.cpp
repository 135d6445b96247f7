// Every `tdxctl ...` command line that a message or hint in lib/ and cmd/
// tells the user to run must exist in the command tree: each word a
// subcommand (or a positional where the command takes one), each flag an
// option of that command or of a parent. The lines are collected from the
// sources themselves, so a renamed verb or flag fails here, not at 3 a.m.
#include "context.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

namespace {

namespace fs = std::filesystem;

struct Hint {
  std::string where; // file:line
  std::string line;  // the command words, "tdxctl" first
};

// `tdxctl ...` or 'tdxctl ...' inside string literals. A literal that ends
// before the closing quote (the rest is concatenated at run time) keeps the
// words up to there.
std::vector<Hint> collect_hints() {
  std::vector<Hint> out;
  const std::regex re(R"re([`']tdxctl( [^`'"\n]*)?([`'"]))re");
  fs::path src(TDXCTL_SOURCE_DIR);
  for (const char* dir : {"lib", "cmd"}) {
    for (const auto& e : fs::recursive_directory_iterator(src / dir)) {
      auto ext = e.path().extension();
      if (ext != ".cpp" && ext != ".hpp") continue;
      std::ifstream in(e.path());
      std::string text;
      int n = 0;
      while (std::getline(in, text)) {
        ++n;
        for (std::sregex_iterator it(text.begin(), text.end(), re), end; it != end; ++it) {
          std::string words = "tdxctl" + (*it)[1].str();
          out.push_back({fs::relative(e.path(), src).string() + ":" + std::to_string(n), words});
        }
      }
    }
  }
  return out;
}

const CLI::Option* find_option(const CLI::App* app, const std::string& name) {
  for (; app; app = app->get_parent())
    if (const auto* o = app->get_option_no_throw(name)) return o;
  return nullptr;
}

// "" when `line` parses against the tree, else what does not.
std::string check(const CLI::App& root, const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  const CLI::App* at = &root;
  bool value_expected = false;
  for (size_t i = 1; i < words.size(); ++i) {
    std::string w = words[i];
    // Placeholders and shell after the command: the rest is not tdxctl's.
    if (w == "..." || w == "|" || w == "&&" || w == ">" || w.starts_with("[")) break;
    if (value_expected) {
      value_expected = false;
      continue;
    }
    if (w.starts_with("-")) {
      auto eq = w.find('=');
      std::string name = w.substr(0, eq);
      const CLI::Option* o = find_option(at, name);
      if (!o) return "no option " + name + " for '" + at->get_name() + "'";
      value_expected = eq == std::string::npos && o->get_items_expected_min() > 0;
      continue;
    }
    const CLI::App* sub = nullptr;
    try {
      sub = at->get_subcommand(w);
    } catch (const CLI::OptionNotFound&) {
    }
    if (sub) {
      at = sub;
      continue;
    }
    bool positional = false;
    for (const auto* o : at->get_options())
      if (o->get_positional()) positional = true;
    if (!positional) return "'" + w + "' is not a subcommand of '" + at->get_name() + "'";
  }
  return {};
}

} // namespace

TEST_CASE("every tdxctl command a message names exists", "[cli][hints]") {
  tdx::cmd::Context ctx;
  auto app = tdx::cmd::build_cli(ctx);
  auto hints = collect_hints();
  REQUIRE(hints.size() > 30); // the scan itself works
  for (const auto& h : hints) {
    INFO(h.where << ": " << h.line);
    CHECK(check(*app, h.line).empty());
  }
}

TEST_CASE("the hint checker rejects what does not exist", "[cli][hints]") {
  tdx::cmd::Context ctx;
  auto app = tdx::cmd::build_cli(ctx);
  CHECK(check(*app, "tdxctl volume create").find("'create' is not a subcommand") != std::string::npos);
  CHECK(check(*app, "tdxctl volume config create --no-such-flag").find("no option --no-such-flag") !=
        std::string::npos);
  CHECK(check(*app, "tdxctl volume config create --force").empty());
  CHECK(check(*app, "tdxctl -o json volume verify X --kind config").empty());
  CHECK(check(*app, "tdxctl gpu bind 0000:18:00.0").empty());
}
