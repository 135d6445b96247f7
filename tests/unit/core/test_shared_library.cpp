// core::SharedLibrary: a library opened on first use, and the errors a host
// missing it (or holding an older one) gets: not_ready, naming the soname
// and the Debian package to install.
#include "tdxctl/core/error.hpp"
#include "tdxctl/core/shared_library.hpp"

#include <catch2/catch.hpp>

#include <cstring>

using namespace tdx;

TEST_CASE("SharedLibrary resolves a symbol of a real library on first use") {
  core::SharedLibrary zlib("libz.so.1", "zlib1g");
  using ZlibVersion = const char* (*)();
  ZlibVersion version = nullptr;
  core::resolve(zlib, version, "zlibVersion");
  REQUIRE(version);
  CHECK(std::strlen(version()) > 0);
}

TEST_CASE("SharedLibrary: a missing library or symbol is not_ready and names the package") {
  core::SharedLibrary missing("libtdxctl-no-such-library.so.9", "tdxctl-no-such-package");
  try {
    missing.symbol("anything");
    FAIL("a missing library must throw");
  } catch (const core::Failure& f) {
    CHECK(f.error().category == core::Category::not_ready);
    CHECK(f.error().code == "core.library");
    CHECK_THAT(f.error().message, Catch::Contains("cannot load libtdxctl-no-such-library.so.9"));
    CHECK_THAT(f.error().hint, Catch::Contains("apt-get install tdxctl-no-such-package"));
  }
  // Asked again, it fails the same way (the first failure is remembered).
  CHECK_THROWS_AS(missing.symbol("anything"), core::Failure);

  core::SharedLibrary zlib("libz.so.1", "zlib1g");
  try {
    zlib.symbol("tdxctl_no_such_symbol");
    FAIL("a missing symbol must throw");
  } catch (const core::Failure& f) {
    CHECK(f.error().category == core::Category::not_ready);
    CHECK_THAT(f.error().message, Catch::Contains("libz.so.1 has no tdxctl_no_such_symbol"));
    CHECK_THAT(f.error().hint, Catch::Contains("upgrade the zlib1g package"));
  }
}
