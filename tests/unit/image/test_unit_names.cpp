// image/unit_names: the systemd unit names the generated volume units use
// for each other (the .mount file name, the by-label .device dependency).
#include "tdxctl/image/unit_names.hpp"

#include <catch2/catch.hpp>

using namespace tdx;

TEST_CASE("mount_unit_name: '/' separates, a '-' inside a name is \\x2d, as systemd-escape --path") {
  CHECK(image::mount_unit_name("/var/config") == "var-config.mount");
  CHECK(image::mount_unit_name("/var/snap") == "var-snap.mount");
  CHECK(image::mount_unit_name("/var/lib/rancher/k3s/agent/containerd") ==
        "var-lib-rancher-k3s-agent-containerd.mount");
  CHECK(image::mount_unit_name("/srv/my-data") == "srv-my\\x2ddata.mount");
  CHECK(image::mount_unit_name("/a_b/c.d") == "a_b-c.d.mount");
}

TEST_CASE("escape_unit_dashes: only '-' is escaped (volume labels are A-Z a-z 0-9 _ -)") {
  CHECK(image::escape_unit_dashes("tdx-config") == "tdx\\x2dconfig");
  CHECK(image::escape_unit_dashes("containerd-cache") == "containerd\\x2dcache");
  CHECK(image::escape_unit_dashes("data_1") == "data_1");
  CHECK(image::escape_unit_dashes("") == "");
}
