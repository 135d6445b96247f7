// The content manifest is frozen: every TD launched from an existing volume
// checks it at boot. This pins its bytes, independently of the host code.
#include "tdxctl/core/config_manifest.hpp"

#include <catch2/catch.hpp>

using namespace tdx;

TEST_CASE("core: the config-volume content manifest, byte for byte", "[core]") {
  std::vector<core::ManifestEntry> entries{{"miner-ss58", 0600, "abc"}, {"hostname", 0100644, ""}};
  CHECK(core::content_manifest(core::k_config_volume_label, entries) ==
        "tdxctl.volume.config-manifest/1\n"
        "label tdx-config\n"
        "0644 0 38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b"
        " /hostname\n"
        "0600 3 cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"
        " /miner-ss58\n");
}
