// The built binary: exit codes, JSON, usage errors, and that the committed
// completions and man pages match what the CLI definition generates.
#include "support/fixtures.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

using namespace tdx;
namespace fs = std::filesystem;

static std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST_CASE("host check on a ready fixture: exit 0, one JSON object per check") {
  core::TempDir dir;
  test::make_ready_host(dir.path());
  auto r = test::run_tdxctl({"--root", dir.path().string(), "host", "check", "--no-libvirt",
                             "--output", "json"});
  INFO(r.err);
  CHECK(r.exit_status == 0);
  auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["schema"] == "tdxctl.host.check/1");
  CHECK(doc["ready"] == true);
  CHECK(doc["checks"].size() > 10);
  for (const auto& c : doc["checks"]) CHECK(c.contains("status"));
}

TEST_CASE("host check on the H100 VM capture: exit 3, a single JSON document") {
  core::TempDir dir;
  auto root = test::extract_capture(dir.path(), "h100-vm-passthrough.tgz");
  auto r = test::run_tdxctl({"host", "check", "--root", root.string(), "--no-libvirt", "-o", "json"});
  CHECK(r.exit_status == 3);
  auto doc = nlohmann::json::parse(r.out); // throws if two documents were printed
  CHECK(doc["ready"] == false);
  CHECK(r.err.find("host is not ready") != std::string::npos);
}

TEST_CASE("usage errors exit 2 with a hint; a missing --root is named") {
  auto bad = test::run_tdxctl({"host", "check", "--no-such-flag"});
  CHECK(bad.exit_status == 2);
  CHECK(bad.err.find("--no-such-flag") != std::string::npos);
  CHECK(bad.err.find("tdxctl host check --help") != std::string::npos);
  auto typo = test::run_tdxctl({"hots"});
  CHECK(typo.exit_status == 2);
  CHECK(typo.err.find("did you mean 'tdxctl host'") != std::string::npos);
  auto root = test::run_tdxctl({"--root", "/nonexistent/dir", "host", "check"});
  CHECK(root.exit_status == 2);
  CHECK(root.err.find("--root /nonexistent/dir: no such directory") != std::string::npos);
  auto json = test::run_tdxctl({"--root", "/nonexistent/dir", "-o", "json", "host", "check"});
  CHECK(nlohmann::json::parse(json.out)["code"] == "root.missing");
}

TEST_CASE("under -o json every error is one tdxctl.error/1 document on stdout, text on stderr") {
  auto error_doc = [](const core::Completed& r, const std::string& code) {
    INFO(r.out + r.err);
    CHECK(r.exit_status == 2);
    auto doc = nlohmann::json::parse(r.out); // exactly one document
    CHECK(doc["schema"] == "tdxctl.error/1");
    CHECK(doc["code"] == code);
    CHECK(doc["exit"] == 2);
    CHECK(doc["category"] == "usage");
    CHECK(r.err.find("tdxctl: error: " + doc["message"].get<std::string>()) != std::string::npos);
    CHECK(r.err.find("hint: " + doc["hint"].get<std::string>()) != std::string::npos);
    return doc;
  };
  // CLI11 rejects the flag before it reaches -o, wherever -o stands.
  auto flag = error_doc(test::run_tdxctl({"host", "check", "--no-such-flag", "-o", "json"}),
                        "usage.unexpected_argument");
  CHECK_THAT(flag["message"].get<std::string>(), Catch::Contains("--no-such-flag"));
  CHECK(flag["hint"] == "see 'tdxctl host check --help'");
  error_doc(test::run_tdxctl({"--output=json", "host", "check", "--no-such-flag"}),
            "usage.unexpected_argument");
  auto typo = error_doc(test::run_tdxctl({"--json", "hots"}), "usage.unknown_command");
  CHECK_THAT(typo["hint"].get<std::string>(), Catch::Contains("did you mean 'tdxctl host'"));
  error_doc(test::run_tdxctl({"-ojson", "quote", "show"}), "usage.missing");
  error_doc(test::run_tdxctl({"-o", "json", "--progress", "sideways", "host", "check"}),
            "usage.invalid_value");
  // The last -o wins, and a "-o json" after "--" is a positional, not the format.
  auto text = test::run_tdxctl({"-o", "json", "-o", "text", "host", "check", "--no-such-flag"});
  CHECK(text.exit_status == 2);
  CHECK(text.out.empty());
  CHECK_FALSE(test::run_tdxctl({"quote", "show", "--", "-o", "json"}).out.starts_with("{"));
}

TEST_CASE("--help and the man page list every command group") {
  auto help = test::run_tdxctl({"--help"});
  CHECK(help.exit_status == 0);
  auto man = test::run_tdxctl({"man"});
  for (const char* g : {"host", "image", "volume", "gpu", "net", "td", "quote", "policy",
                        "collateral", "up", "down", "config", "completion"}) {
    CHECK(help.out.find(std::string("  ") + g + " ") != std::string::npos);
    CHECK(man.out.find(std::string("tdxctl ") + g) != std::string::npos);
  }
  CHECK(test::run_tdxctl({"--version"}).out.rfind("tdxctl ", 0) == 0);
}

TEST_CASE("committed completions and man pages match the CLI definition") {
  auto repo = test::tests_dir().parent_path();
  INFO("stale? run: cmake --build build --target regen");
  CHECK(test::run_tdxctl({"completion", "bash"}).out == slurp(repo / "completions/tdxctl.bash"));
  CHECK(test::run_tdxctl({"completion", "zsh"}).out == slurp(repo / "completions/_tdxctl"));
  CHECK(test::run_tdxctl({"completion", "fish"}).out == slurp(repo / "completions/tdxctl.fish"));
  core::TempDir dir;
  auto r = test::run_tdxctl({"man", "--dir", dir.path().string()});
  REQUIRE(r.exit_status == 0);
  size_t pages = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    ++pages;
    CHECK(slurp(e.path()) == slurp(repo / "man" / e.path().filename()));
  }
  size_t committed = 0;
  for (const auto& e : fs::directory_iterator(repo / "man"))
    committed += e.path().extension() == ".1";
  CHECK(pages == committed);
}

TEST_CASE("the bash completion script completes groups and verbs") {
  core::TempDir dir;
  auto script = test::run_tdxctl({"completion", "bash"}).out;
  test::put(dir.path(), "/c.bash", script);
  core::RealRunner runner;
  auto r = runner.run({{"bash", "-c",
                        "source " + (dir / "c.bash").string() +
                            "; COMP_WORDS=(tdxctl host ch); COMP_CWORD=2; _tdxctl; "
                            "echo ${COMPREPLY[@]}; COMP_WORDS=(tdxctl -o ''); COMP_CWORD=2; "
                            "_tdxctl; echo ${COMPREPLY[@]}"}});
  REQUIRE(r);
  CHECK(r->out == "check\ntext json\n");
}
