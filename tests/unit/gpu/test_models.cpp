// The device-ID table and the GPU/NVSwitch rule, and device selection.
#include "support/gpu_hgx.hpp"

#include "tdxctl/gpu/inventory.hpp"
#include "tdxctl/gpu/models.hpp"

#include <catch2/catch.hpp>

using namespace tdx;

TEST_CASE("gpu models: classification by vendor and class, names by device ID") {
  using gpu::Kind;
  CHECK(gpu::classify(0x10de, 0x030200) == Kind::gpu);
  CHECK(gpu::classify(0x10de, 0x030000) == Kind::gpu);
  CHECK(gpu::classify(0x10de, 0x068000) == Kind::nvswitch);
  CHECK(gpu::classify(0x10de, 0x040300) == Kind::other); // HDMI audio function
  CHECK(gpu::classify(0x8086, 0x030000) == Kind::other);
  CHECK(gpu::model_name(Kind::gpu, 0x2330) == "H100 SXM5 80GB");
  CHECK(gpu::model_name(Kind::gpu, 0x2331) == "H100 PCIe 80GB");
  CHECK(gpu::model_name(Kind::gpu, 0x2321) == "H100 NVL");
  CHECK(gpu::model_name(Kind::gpu, 0x2335) == "H200 SXM 141GB");
  CHECK(gpu::model_name(Kind::gpu, 0x2324) == "H800 SXM5");
  CHECK(gpu::model_name(Kind::gpu, 0x2901) == "B200");
  CHECK(gpu::model_name(Kind::nvswitch, 0x22a3) == "NVSwitch gen3");
  CHECK(gpu::model_name(Kind::nvswitch, 0x1af1) == "NVSwitch gen2");
  CHECK(gpu::model_name(Kind::gpu, 0x2bad) == "NVIDIA GPU 0x2bad");
  CHECK_FALSE(gpu::known_model(Kind::gpu, 0x2bad));
  CHECK(gpu::model_name(Kind::nvswitch, 0x2bad) == "NVSwitch (unknown generation) 0x2bad");
}

TEST_CASE("gpu select: short BDFs, duplicates, --all and their errors") {
  core::TempDir dir;
  test::hgx::build(dir.path());
  core::Root root(dir.path());
  auto two = gpu::select_devices(root, {"18:00.0", "0000:18:00.0", "0000:05:00.0"}, false);
  REQUIRE(two);
  REQUIRE(two->size() == 2);
  CHECK((*two)[0].pci.address == "0000:18:00.0");
  auto all = gpu::select_devices(root, {}, true);
  REQUIRE(all);
  CHECK(all->size() == 12);
  auto none = gpu::select_devices(root, {}, false);
  REQUIRE_FALSE(none);
  CHECK(none.error().category == core::Category::usage);
  auto both = gpu::select_devices(root, {"18:00.0"}, true);
  REQUIRE_FALSE(both);
  CHECK(both.error().code == "gpu.all_and_devices");
  auto gone = gpu::select_devices(root, {"0000:ff:00.0"}, false);
  REQUIRE_FALSE(gone);
  CHECK(gone.error().message == "0000:ff:00.0 does not exist on this host");
}
