// tdxctl completion / man: print what docgen.cpp generates from the tree.
#include "context.hpp"

#include "tdxctl/core/fs.hpp"

#include <filesystem>
#include <iostream>

namespace tdx::cmd {

void add_completion(CLI::App& app, Context&) {
  auto shell = std::make_shared<std::string>();
  auto* completion = app.add_subcommand("completion", "Print a shell completion script");
  add_choice(completion, "shell", *shell, {"bash", "zsh", "fish"}, "Shell")->required();
  completion->footer("Examples:\n  tdxctl completion bash > /etc/bash_completion.d/tdxctl\n"
                     "  tdxctl completion fish > ~/.config/fish/completions/tdxctl.fish");
  completion->callback([&app, shell] { std::cout << completion_script(app, *shell); });

  struct ManArgs {
    std::string page;
    std::string dir;
  };
  auto args = std::make_shared<ManArgs>();
  auto* man = app.add_subcommand("man", "Print a man page in roff, or write them all with --dir");
  man->add_option("page", args->page, "tdxctl (default) or a group name, e.g. gpu")
      ->type_name("PAGE");
  man->add_option("--dir", args->dir, "Write tdxctl.1 and every tdxctl-<group>.1 here")
      ->type_name("DIR");
  man->callback([&app, args] {
    if (!args->dir.empty()) {
      std::filesystem::create_directories(args->dir);
      core::write_file_atomic(std::filesystem::path(args->dir) / "tdxctl.1", man_page(app, ""),
                              0644, core::Force::yes);
      for (const auto& g : man_page_groups(app))
        core::write_file_atomic(std::filesystem::path(args->dir) / ("tdxctl-" + g + ".1"),
                                man_page(app, g), 0644, core::Force::yes);
      return;
    }
    std::string page = args->page == "tdxctl" ? "" : args->page;
    auto text = man_page(app, page);
    if (text.empty())
      throw core::Failure(core::Category::usage, "man.unknown_page",
                          "no man page named '" + args->page + "'",
                          "pages: tdxctl and one per command group (tdxctl --help lists them)");
    std::cout << text;
  });
}

} // namespace tdx::cmd
