// core/log: log lines reach the terminal escaped, like the text output.
#include "tdxctl/core/fs.hpp"
#include "tdxctl/core/log.hpp"

#include <catch2/catch.hpp>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <unistd.h>

using namespace tdx;

TEST_CASE("log: a message quoting a peer cannot carry terminal escapes", "[core][log]") {
  core::TempDir dir;
  auto file = dir / "stderr";
  int fd = ::open(file.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  REQUIRE(fd >= 0);
  int saved = ::dup(2);
  ::dup2(fd, 2);
  ::close(fd);
  core::init_logging(1, false);
  spdlog::warn("GET https://x: SSL: certificate subject name '{}' does not match", "evil\x1b]2;owned\x07\x1b[2J");
  spdlog::default_logger()->flush();
  ::dup2(saved, 2);
  ::close(saved);
  core::init_logging(0, false);
  auto text = core::value_or_throw(core::read_file(file));
  CHECK(text == "tdxctl: warning: GET https://x: SSL: certificate subject name 'evil\\x1b]2;owned\\x07\\x1b[2J' "
                "does not match\n");
}
