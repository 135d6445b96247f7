// core/runner: a child that stops reading its stdin. tdxctl ignores SIGPIPE
// (cmd/main.cpp); this test process does the same, so a write into the
// closed pipe is EPIPE and the runner must turn it into a result: the
// child's own exit status, and a failure from run_checked even when the
// child exits 0 having taken only part of its input.
#include "tdxctl/core/runner.hpp"

#include <catch2/catch.hpp>

#include <csignal>

using namespace tdx::core;

namespace {
// 1 MiB: far past a pipe's buffer, so the writer is still writing when the
// child has gone.
const std::string k_big(1 << 20, 'x');

struct IgnoreSigpipe {
  void (*old)(int) = ::signal(SIGPIPE, SIG_IGN);
  ~IgnoreSigpipe() { ::signal(SIGPIPE, old); }
};
} // namespace

TEST_CASE("RealRunner: a child that exits before reading its stdin is a result, not a SIGPIPE") {
  IgnoreSigpipe ignore;
  RealRunner runner;
  auto r = runner.run({{"sh", "-c", "exit 3"}, k_big});
  REQUIRE(r);
  CHECK(r->exit_status == 3);
  CHECK(r->stdin_refused);
  CHECK(r->stdin_written < k_big.size());
  CHECK_THROWS_WITH(run_checked(runner, {{"sh", "-c", "exit 3"}, k_big}, "loading"),
                    Catch::Contains("loading: sh exited with status 3"));

  // Exit 0 after taking only part of the input is no success either.
  CHECK_THROWS_WITH(run_checked(runner, {{"head", "-c", "10"}, k_big}, "loading"),
                    Catch::Contains("head closed its input after taking") && Catch::Contains("of 1048576 bytes"));

  auto all = runner.run({{"sh", "-c", "cat >/dev/null"}, k_big});
  REQUIRE(all);
  CHECK(all->ok());
  CHECK_FALSE(all->stdin_refused);
  CHECK(all->stdin_written == k_big.size());
}

TEST_CASE("RealRunner: children get SIGPIPE back even though tdxctl ignores it") {
  IgnoreSigpipe ignore;
  RealRunner runner;
  // An ignored signal stays ignored across exec; the runner resets it, or
  // every `a | b` in a child script would see EPIPE errors instead.
  auto r = runner.run({{"grep", "^SigIgn:", "/proc/self/status"}});
  REQUIRE(r);
  REQUIRE(r->ok());
  auto mask = std::stoull(r->out.substr(r->out.find(':') + 1), nullptr, 16);
  CHECK((mask & (1ull << (SIGPIPE - 1))) == 0);
}
