// build_cli builds only the groups a command line names: each group must
// come out exactly as in the whole tree, and help, completion, man and a
// command line naming no group must get the whole tree.
#include "context.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

namespace {

// Every subcommand path and option name below app, one line each.
void outline(const CLI::App& app, const std::string& prefix, std::vector<std::string>& out) {
  for (const auto* opt : app.get_options()) out.push_back(prefix + " " + opt->get_name());
  for (const auto* sub : app.get_subcommands({})) {
    out.push_back(prefix + " " + sub->get_name() + ": " + sub->get_description());
    outline(*sub, prefix + " " + sub->get_name(), out);
  }
}

std::vector<std::string> outline_of(const CLI::App& app, const std::string& group) {
  std::vector<std::string> out;
  outline(*app.get_subcommand(group), group, out);
  return out;
}

std::set<std::string> top_level(const CLI::App& app) {
  std::set<std::string> names;
  for (const auto* sub : app.get_subcommands({})) names.insert(sub->get_name());
  return names;
}

std::unique_ptr<CLI::App> build(tdx::cmd::Context& ctx, std::vector<std::string> words) {
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  return tdx::cmd::build_cli(ctx, argv);
}

} // namespace

TEST_CASE("a command line gets the groups it names, each as in the whole tree", "[cli]") {
  tdx::cmd::Context whole_ctx;
  auto whole = tdx::cmd::build_cli(whole_ctx);
  auto names = top_level(*whole);
  REQUIRE(names.size() > 10);
  for (const auto& name : names) {
    if (name == "completion" || name == "man") continue;
    INFO(name);
    tdx::cmd::Context ctx;
    auto app = build(ctx, {"tdxctl", "-o", "json", name, "--help-me-not"});
    // Only this group (and, for up/down, its sibling from the same file).
    auto got = top_level(*app);
    CHECK(got.count(name) == 1);
    CHECK(got.size() <= 2);
    CHECK(outline_of(*app, name) == outline_of(*whole, name));
  }
  tdx::cmd::Context ctx;
  auto two = build(ctx, {"tdxctl", "quote", "verify", "--policy", "td"});
  CHECK(top_level(*two) == std::set<std::string>{"quote", "td"});
}

TEST_CASE("help, completion, man and a command line naming no group get the whole tree", "[cli]") {
  tdx::cmd::Context whole_ctx;
  auto names = top_level(*tdx::cmd::build_cli(whole_ctx));
  for (std::vector<std::string> words : {std::vector<std::string>{"tdxctl"},
                                         {"tdxctl", "--help"},
                                         {"tdxctl", "quote", "-h"},
                                         {"tdxctl", "quote", "--help-all"},
                                         {"tdxctl", "completion", "bash"},
                                         {"tdxctl", "man", "--dir", "x"},
                                         {"tdxctl", "qoute", "verify"},
                                         {"tdxctl", "--version"}}) {
    INFO(words.back());
    tdx::cmd::Context ctx;
    CHECK(top_level(*build(ctx, words)) == names);
  }
}
