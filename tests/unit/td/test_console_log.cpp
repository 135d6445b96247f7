// td/console_log: reading the backups and the current file in order, the
// start markers --since finds, names refused before they reach a path, and
// following a log across a virtlogd-style rotation.
#include "support/fixtures.hpp"
#include "tdxctl/td/console_log.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <fstream>
#include <chrono>
#include <mutex>
#include <thread>

using namespace tdx;
namespace fs = std::filesystem;

TEST_CASE("console log: backups oldest first, --since from a start marker, names checked", "[td]") {
  core::TempDir dir;
  core::Root root(dir.path());
  auto logs = dir.path() / "var/log/tdxctl";
  fs::create_directories(logs);
  test::put(logs, "td1.console.log.1", "boot A\n");
  test::put(logs, "td1.console.log.0", "boot A, later\n");
  REQUIRE(td::append_start_marker(logs, "td1", 1764547200)); // 2025-12-01T00:00:00Z
  test::put(logs, "td1.console.log", core::value_or_throw(core::read_file(logs / "td1.console.log")) + "boot B\n");
  REQUIRE(td::append_start_marker(logs, "td1", 1764633600)); // 2025-12-02T00:00:00Z
  auto all = td::read_console_log(root, {"td1", 0});
  REQUIRE(all);
  CHECK(*all == "boot A\nboot A, later\n\n-- tdxctl: td1 started 2025-12-01T00:00:00Z --\nboot B\n"
                "\n-- tdxctl: td1 started 2025-12-02T00:00:00Z --\n");
  CHECK(*td::read_console_log(root, {"td1", 1764547200}) ==
        "-- tdxctl: td1 started 2025-12-01T00:00:00Z --\nboot B\n\n-- tdxctl: td1 started 2025-12-02T00:00:00Z --\n");
  CHECK(*td::read_console_log(root, {"td1", 1764547201}) == "-- tdxctl: td1 started 2025-12-02T00:00:00Z --\n");
  CHECK(td::read_console_log(root, {"td1", 1764633601})->empty());

  auto missing = td::read_console_log(root, {"td2", 0});
  REQUIRE_FALSE(missing);
  CHECK(missing.error().category == core::Category::not_ready);
  for (const char* bad : {"../td1", "td1/x", ".hidden", ""}) {
    auto r = td::read_console_log(root, {bad, 0});
    REQUIRE_FALSE(r);
    CHECK(r.error().code == "td.bad_name");
  }
  CHECK_FALSE(td::append_start_marker(logs, "../escape", 0));
  CHECK(td::console_log_path("td1") == "/var/log/tdxctl/td1.console.log");
}

TEST_CASE("console log: follow prints appended bytes, then the new file after a rotation", "[td]") {
  core::TempDir dir;
  core::Root root(dir.path());
  auto logs = dir.path() / "var/log/tdxctl";
  fs::create_directories(logs);
  auto log = logs / "td1.console.log";
  test::put(logs, "td1.console.log", "already printed\n");
  std::mutex mutex;
  std::string seen;
  std::atomic<bool> stop{false};
  std::thread follower([&] {
    td::follow_console_log(
        root, "td1", std::string("already printed\n").size(),
        [&](std::string_view chunk) {
          std::lock_guard lock(mutex);
          seen += chunk;
        },
        [&] { return !stop.load(); });
  });
  auto wait_for = [&](const std::string& text) {
    for (int i = 0; i < 400; ++i) { // the follower polls; give it up to 20 s on a loaded machine
      {
        std::lock_guard lock(mutex);
        if (seen == text) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  };
  std::ofstream(log, std::ios::binary | std::ios::app) << "new line\n"; // as virtlogd appends
  CHECK(wait_for("new line\n"));
  fs::rename(log, logs / "td1.console.log.0"); // virtlogd's rotation
  test::put(logs, "td1.console.log", "after rotation\n");
  CHECK(wait_for("new line\nafter rotation\n"));
  stop = true;
  follower.join();
}
