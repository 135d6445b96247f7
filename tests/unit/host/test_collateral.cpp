// host/collateral.cpp: the cached collateral's age and expiry, judged on real
// Intel collateral at times around its nextUpdate, and the PCCS probe against
// a loopback HTTP stand-in (and a port nobody listens on).
#include <httplib.h>

#include "support/fixtures.hpp"
#include "tdxctl/host/check.hpp"

#include <catch2/catch.hpp>

#include <thread>

using namespace tdx;
using tdx::host::Status;
namespace fs = std::filesystem;

namespace {

// A cache as `collateral fetch` lays it out, holding the B0C06F000000 set:
// issued 2025-06-19T10:32:27Z at the latest, expiring 2025-07-19T10:00:35Z
// at the earliest (tests/data/quotes/README.md).
fs::path make_cache(const fs::path& dir) {
  auto cache = dir / "cache";
  fs::create_directories(cache / "sets");
  fs::copy(test::testdata() / "quotes/tdx-v4-b0c06f-uptodate", cache / "sets/b0c06f");
  fs::create_directory_symlink("sets/b0c06f", cache / "B0C06F000000");
  return cache;
}

host::CheckResult cache_check(const fs::path& cache, time_t at) {
  host::CheckOptions o;
  o.collateral_cache = cache.string();
  o.at = at;
  return host::check_collateral_cache(core::Root("/"), o);
}

} // namespace

TEST_CASE("host check reports the cached collateral's age and warns 7 days before it expires", "[host]") {
  core::TempDir dir;
  auto cache = make_cache(dir.path());
  auto fresh = cache_check(cache, 1750809600); // 2025-06-25
  CHECK(fresh.status == Status::ok);
  CHECK_FALSE(fresh.required);
  CHECK_THAT(fresh.observed, Catch::Contains("B0C06F000000: 5 days old, expires 2025-07-19T10:00:35Z"));

  auto soon = cache_check(cache, 1752400000); // 2025-07-13, 6 days before
  CHECK(soon.status == Status::warn);
  CHECK_THAT(soon.observed, Catch::Contains("expires in 6 days"));
  CHECK_THAT(soon.hint, Catch::Contains("tdxctl collateral fetch"));

  auto late = cache_check(cache, 1753000000); // 2025-07-20
  CHECK(late.status == Status::warn);
  CHECK_THAT(late.observed, Catch::Contains("EXPIRED 2025-07-19T10:00:35Z"));

  // A broken entry is named with its error; no cache at all is a skip.
  fs::create_directories(cache / "90C06F000000");
  auto broken = cache_check(cache, 1750809600);
  CHECK(broken.status == Status::warn);
  CHECK_THAT(broken.observed, Catch::Contains("90C06F000000: collateral directory"));
  CHECK(cache_check(dir.path() / "none", 1750809600).status == Status::skip);
}

TEST_CASE("host check probes the configured PCCS with a short timeout, or skips", "[host]") {
  core::TempDir dir;
  host::CheckOptions o;
  core::Root root(dir.path());
  auto none = host::check_collateral_service(root, o);
  CHECK(none.status == Status::skip);
  CHECK_THAT(none.observed, Catch::Contains("not configured"));

  httplib::Server pccs;
  pccs.Get("/tdx/certification/v4/qe/identity",
           [](const httplib::Request&, httplib::Response& res) { res.set_content("{}", "application/json"); });
  int port = pccs.bind_to_any_port("127.0.0.1");
  std::thread thread([&] { pccs.listen_after_bind(); });
  // The QPL's configuration names the PCCS with its API path, and may carry comments.
  test::put(dir.path(), "etc/sgx_default_qcnl.conf",
            "{\n  // PCCS server address\n  \"pccs_url\": \"http://127.0.0.1:" + std::to_string(port) +
                "/sgx/certification/v4/\",\n  \"use_secure_cert\": false\n}\n");
  auto up = host::check_collateral_service(root, o);
  CHECK(up.status == Status::ok);
  CHECK_THAT(up.observed, Catch::Contains("http://127.0.0.1:" + std::to_string(port) + " answered"));
  pccs.stop();
  thread.join();

  // Nobody listens there now: a warning naming the failure, not a hang.
  auto down = host::check_collateral_service(root, o);
  CHECK(down.status == Status::warn);
  CHECK_FALSE(down.required);
  o.pccs_url = "http://127.0.0.1:" + std::to_string(port) + "/";
  CHECK(host::check_collateral_service(root, o).status == Status::warn);
}
