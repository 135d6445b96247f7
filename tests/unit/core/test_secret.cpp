// core/secret and the runner's environment: secret bytes live in locked,
// undumpable pages, reads leave no copies, and no child sees a secret variable.
#include "support/fixtures.hpp"
#include "tdxctl/core/fs.hpp"
#include "tdxctl/core/runner.hpp"
#include "tdxctl/core/secret.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <fstream>
#include <sys/prctl.h>
#include <unistd.h>

using namespace tdx::core;
namespace fs = std::filesystem;

namespace {

// VmLck from /proc/self/status, in KiB.
long locked_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmLck:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

} // namespace

TEST_CASE("holding a Secret makes the process non-dumpable and locks its pages") {
  long before = locked_kib();
  auto s = Secret::concat({"seed-", "value", "\n"});
  CHECK(s.reveal() == "seed-value\n");
  // No core dump and no same-user ptrace or /proc/PID/mem while (and after) secrets are held.
  CHECK(::prctl(PR_GET_DUMPABLE) == 0);
#if defined(__SANITIZE_ADDRESS__)
  // AddressSanitizer intercepts mlock() as a no-op (it cannot lock its shadow
  // memory), so VmLck cannot grow in the sanitizer build.
  (void)before;
#else
  CHECK(locked_kib() > before);
#endif
  Secret moved = std::move(s);
  CHECK(moved.reveal() == "seed-value\n");
  CHECK(s.empty()); // NOLINT(bugprone-use-after-move): the source is emptied, not shared
}

TEST_CASE("Secret::from_env takes the value, wipes it in the environment and unsets it") {
  ::setenv("TDXCTL_MINER_SEED", "0123456789abcdef\n", 1);
  char* raw = std::getenv("TDXCTL_MINER_SEED");
  REQUIRE(raw);
  std::string_view storage(raw, 17);
  auto s = Secret::from_env("TDXCTL_MINER_SEED", "miner seed");
  REQUIRE(s);
  CHECK(s->reveal() == "0123456789abcdef");
  CHECK(std::getenv("TDXCTL_MINER_SEED") == nullptr);
  // The bytes where the variable lived (what /proc/PID/environ would show) are zero.
  CHECK(storage == std::string(17, '\0'));
  auto again = Secret::from_env("TDXCTL_MINER_SEED", "miner seed");
  REQUIRE_FALSE(again);
  CHECK(again.error().message == "miner seed: environment variable TDXCTL_MINER_SEED is not set");
}

TEST_CASE("Secret::from_file reads a pipe of any length into locked pages, and refuses a huge file") {
  int p[2];
  REQUIRE(::pipe(p) == 0);
  std::string big(20000, 'k');
  REQUIRE(::write(p[1], big.data(), big.size()) == static_cast<ssize_t>(big.size()));
  REQUIRE(::write(p[1], "\n", 1) == 1);
  ::close(p[1]);
  auto s = Secret::from_file("/proc/self/fd/" + std::to_string(p[0]), "unlock key");
  ::close(p[0]);
  REQUIRE(s);
  CHECK(s->reveal() == big);

  TempDir dir;
  tdx::test::put(dir.path(), "huge", std::string(k_max_secret_bytes + 1, 'x'));
  auto huge = Secret::from_file((dir / "huge").string(), "unlock key");
  REQUIRE_FALSE(huge);
  CHECK(huge.error().code == "secret.too_large");
  CHECK(huge.error().message.find("larger than 1024 KiB") != std::string::npos);
}

TEST_CASE("the runner never passes a secret environment variable to a child") {
  ::setenv("TDXCTL_MINER_SEED", "do-not-leak-0123456789", 1);
  ::setenv("TDXCTL_TEST_PLAIN", "visible", 1);
  RealRunner runner;
  // The child reads its own /proc/PID/environ, as another process of its user could.
  auto r = runner.run({{"sh", "-c", "tr '\\0' '\\n' < /proc/$$/environ"}});
  ::unsetenv("TDXCTL_MINER_SEED");
  ::unsetenv("TDXCTL_TEST_PLAIN");
  REQUIRE(r);
  REQUIRE(r->ok());
  CHECK(r->out.find("TDXCTL_TEST_PLAIN=visible") != std::string::npos);
  CHECK(r->out.find("TDXCTL_MINER_SEED") == std::string::npos);
  CHECK(r->out.find("do-not-leak") == std::string::npos);
  CHECK(is_secret_env_entry("TDXCTL_MINER_SEED=x"));
  CHECK_FALSE(is_secret_env_entry("TDXCTL_MINER_SEEDS=x"));
}
