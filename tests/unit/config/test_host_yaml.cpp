// config/host_yaml: one rule makes a path absolute.
#include "tdxctl/config/host_yaml.hpp"

#include <catch2/catch.hpp>

using namespace tdx;

TEST_CASE("absolute_path: relative against the base, absolute and empty kept", "[config]") {
  CHECK(config::absolute_path("img/td.qcow2", "/etc/tdxctl") == "/etc/tdxctl/img/td.qcow2");
  CHECK(config::absolute_path("../td.qcow2", "/etc/tdxctl") == "/etc/td.qcow2");
  CHECK(config::absolute_path("/var/lib/td.qcow2", "/etc/tdxctl") == "/var/lib/td.qcow2");
  CHECK(config::absolute_path("", "/etc/tdxctl").empty());
  CHECK(config::absolute_path("td.qcow2") == (std::filesystem::current_path() / "td.qcow2").string());
}
