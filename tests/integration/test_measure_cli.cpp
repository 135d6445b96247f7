// The measured-boot verbs through the built binary: image measure on the real
// TDVF (JSON schema, exit codes), quote eventlog on a real CCEL and a cut one
// (exit 2, offset named), policy init round trip and refusal to overwrite.
#include "support/fixtures.hpp"
#include "unit/measure/builders.hpp"

#include "tdxctl/core/config_manifest.hpp"
#include "tdxctl/core/fs.hpp"
#include "tdxctl/policy/policy_file.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <tuple>

using namespace tdx;

TEST_CASE("image measure -> policy init -> policy.yaml", "[measure]") {
  core::TempDir dir;
  auto kernel = dir / "vmlinuz";
  auto initrd = dir / "initrd.img";
  core::write_file_atomic(kernel, test::synthetic_pe(), 0644, core::Force::no);
  core::write_file_atomic(initrd, std::string(4096, 'i'), 0644, core::Force::no);
  auto firmware = (test::testdata() / "tdvf/OVMF.inteltdx.ms.fd").string();
  auto r = test::run_tdxctl({"image", "measure", "--firmware", firmware, "--kernel", kernel.string(),
                             "--initrd", initrd.string(), "--cmdline", "console=ttyS0",
                             "--memory", "2G", "-o", "json"});
  INFO(r.err);
  REQUIRE(r.exit_status == 0);
  auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["schema"] == "tdxctl.image.measure/1");
  CHECK(doc["mrtd"] == "a7a1f751abc454f9cbab198ca8d2edb2821935df525c74182b5e776cb0929e8c"
                       "59aefecce725b0d08a5e9d3d3183bd08");
  CHECK(doc["rtmr"][0] == "unknown");
  CHECK(doc["events"].size() == 7);
  CHECK(doc["events"][3]["name"] == "LOADED_IMAGE::LoadOptions");

  auto measure_json = dir / "measure.json";
  core::write_file_atomic(measure_json, r.out, 0644, core::Force::no);
  auto policy = dir / "policy.yaml";
  auto p = test::run_tdxctl({"policy", "init", "--from-measure", measure_json.string(), "--out",
                             policy.string(), "--accept", "UpToDate,SWHardeningNeeded"});
  INFO(p.err);
  REQUIRE(p.exit_status == 0);
  auto loaded = policy::load_policy(policy);
  CHECK(loaded.mr_td.size() == 1);
  CHECK_FALSE(loaded.rtmr[0]);
  CHECK(loaded.rtmr[1]);
  CHECK(loaded.accept_tcb.size() == 2);
  auto again = test::run_tdxctl({"policy", "init", "--from-measure", measure_json.string(),
                                 "--out", policy.string()});
  CHECK(again.exit_status == 2);
  CHECK_THAT(again.err, Catch::Contains("--force"));
}

TEST_CASE("image measure refuses a firmware that is not TDVF (exit 2)", "[measure]") {
  core::TempDir dir;
  auto fw = dir / "fw.fd";
  auto kernel = dir / "vmlinuz";
  core::write_file_atomic(fw, std::string(0x10000, '\xff'), 0644, core::Force::no);
  core::write_file_atomic(kernel, test::synthetic_pe(), 0644, core::Force::no);
  auto r = test::run_tdxctl({"image", "measure", "--firmware", fw.string(), "--kernel",
                             kernel.string(), "--memory", "2G"});
  CHECK(r.exit_status == 2);
  CHECK_THAT(r.err, Catch::Contains("footer"));
  auto m = test::run_tdxctl({"image", "measure", "--firmware", fw.string(), "--kernel",
                             kernel.string(), "--memory", "lots"});
  CHECK(m.exit_status == 2);
}

TEST_CASE("quote eventlog: a real CCEL replays; a cut one is exit 2 naming the offset", "[measure]") {
  auto log = test::testdata() / "eventlogs/cos-113-intel-tdx.bin";
  auto r = test::run_tdxctl({"quote", "eventlog", log.string(), "-o", "json"});
  INFO(r.err);
  REQUIRE(r.exit_status == 0);
  auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["rtmr"][1] == "f62dbc072bd5d3f3438b7b35c39a727f5aea2ffc2473f43723953f530daf6250"
                          "4f0a7944aa62c41a86e8a878c2b122c1");
  core::TempDir dir;
  auto cut = dir / "cut.bin";
  auto bytes = core::value_or_throw(core::read_file(log));
  core::write_file_atomic(cut, bytes.substr(0, 9000), 0644, core::Force::no);
  auto c = test::run_tdxctl({"quote", "eventlog", cut.string()});
  CHECK(c.exit_status == 2);
  CHECK_THAT(c.err, Catch::Contains("byte offset 8992") && Catch::Contains("truncated"));
}

TEST_CASE("measure platform in a TD -> image measure --platform (RTMR0 events, named gaps)", "[measure]") {
  core::TempDir dir;
  auto root = dir / "td";
  const std::string guid = "8be4df61-93ca-11d2-aa0d-00e098032b8c";
  test::put(root, "sys/firmware/qemu_fw_cfg/by_name/etc/acpi/tables/raw", std::string(64, '\0'));
  test::put(root, "sys/firmware/efi/efivars/BootOrder-" + guid, std::string("\x07\0\0\0\0\0", 6));
  test::put(root, "sys/firmware/acpi/tables/data/CCEL", "log");
  auto platform = dir / "platform.json";
  auto c = test::run_tdxctl({"--root", root.string(), "measure", "platform", "--out", platform.string()});
  INFO(c.err);
  REQUIRE(c.exit_status == 0);
  auto doc = nlohmann::json::parse(core::value_or_throw(core::read_file(platform)));
  CHECK(doc["schema"] == "tdxctl.platform/1");
  CHECK(doc["efivars"]["BootOrder"] == "AAA=");
  auto again = test::run_tdxctl({"--root", root.string(), "measure", "platform", "--out", platform.string()});
  CHECK(again.exit_status == 2); // exists, no --force
  auto log = dir / "ccel.bin";
  CHECK(test::run_tdxctl({"--root", root.string(), "measure", "eventlog", "--out", log.string()}).exit_status == 0);
  CHECK(core::value_or_throw(core::read_file(log)) == "log");

  auto kernel = dir / "vmlinuz";
  core::write_file_atomic(kernel, test::synthetic_pe(), 0644, core::Force::no);
  auto firmware = (test::testdata() / "tdvf/OVMF.inteltdx.ms.fd").string();
  auto r = test::run_tdxctl({"image", "measure", "--firmware", firmware, "--kernel", kernel.string(),
                             "--memory", "2G", "--platform", platform.string(), "-o", "json"});
  INFO(r.err);
  REQUIRE(r.exit_status == 0);
  auto m = nlohmann::json::parse(r.out);
  // The .ms firmware has a PK enrolled: RTMR0 stops at the secure-boot policy, and says why.
  CHECK(m["rtmr"][0] == "unknown");
  CHECK_THAT(m["unknown"]["rtmr0"].get<std::string>(), Catch::Contains("secure boot"));
  auto both = test::run_tdxctl({"image", "measure", "--firmware", firmware, "--kernel", kernel.string(),
                                "--memory", "2G", "--platform", platform.string(), "--acpi-tables",
                                platform.string()});
  CHECK(both.exit_status == 2);
}

TEST_CASE("image measure -c host.yaml predicts what td launch -c boots: the same as the explicit pieces",
          "[measure]") {
  core::TempDir dir;
  // An image as `image build` leaves it: the manifest names the kernel,
  // initrd and command line with their SHA-384.
  auto image = dir / "tdx.qcow2";
  test::put(dir.path(), "tdx.qcow2", "stand-in disk");
  const std::string cmdline = "root=/dev/mapper/root ro console=ttyS0";
  nlohmann::ordered_json files;
  for (auto [role, name, content] : {std::tuple{"kernel", "tdx.qcow2.vmlinuz", test::synthetic_pe()},
                                     std::tuple{"initrd", "tdx.qcow2.initrd", std::string(8192, 'i')},
                                     std::tuple{"cmdline", "tdx.qcow2.cmdline", cmdline}}) {
    test::put(dir.path(), name, content);
    files[role] = {{"file", name}, {"sha384", core::sha384_hex(content)}};
  }
  test::put(dir.path(), "tdx.qcow2.manifest.json",
            nlohmann::ordered_json{{"image", "tdx.qcow2"}, {"boot_files", files}}.dump(2));
  auto firmware = (test::testdata() / "tdvf/OVMF.inteltdx.ms.fd").string();
  // Relative paths are taken from host.yaml's directory, as td launch takes them.
  test::put(dir.path(), "acpi.bin", std::string(128, '\0'));
  test::put(dir.path(), "host.yaml",
            "td:\n  image: tdx.qcow2\n  memory_gib: 2\n  firmware: " + firmware +
                "\n  measure:\n    acpi_tables: acpi.bin\n");
  auto from_file = test::run_tdxctl({"image", "measure", "-c", (dir / "host.yaml").string(), "-o", "json"});
  INFO(from_file.err);
  REQUIRE(from_file.exit_status == 0);
  auto explicit_pieces = test::run_tdxctl(
      {"image", "measure", "--firmware", firmware, "--kernel", (dir / "tdx.qcow2.vmlinuz").string(), "--initrd",
       (dir / "tdx.qcow2.initrd").string(), "--cmdline", cmdline, "--memory", "2G", "--acpi-tables",
       (dir / "acpi.bin").string(), "-o", "json"});
  INFO(explicit_pieces.err);
  REQUIRE(explicit_pieces.exit_status == 0);
  auto a = nlohmann::json::parse(from_file.out), b = nlohmann::json::parse(explicit_pieces.out);
  CHECK(a["mrtd"] == b["mrtd"]);
  CHECK(a["rtmr"] == b["rtmr"]);
  CHECK(a["events"].size() == b["events"].size());
  CHECK(a["unknown"] == b["unknown"]);
  // A flag given with -c is still read, and checked: it overrides host.yaml's value.
  auto bad_memory = test::run_tdxctl({"image", "measure", "-c", (dir / "host.yaml").string(), "--memory", "0"});
  CHECK(bad_memory.exit_status == 2);
  CHECK_THAT(bad_memory.err, Catch::Contains("--memory '0'"));

  // The pieces -c names, given again, are a usage error.
  CHECK(test::run_tdxctl({"image", "measure", "-c", (dir / "host.yaml").string(), "--kernel",
                          (dir / "tdx.qcow2.vmlinuz").string()})
            .exit_status == 2);
  // Without -c the pieces are required, and the error names the first missing one.
  auto bare = test::run_tdxctl({"image", "measure", "--memory", "2G"});
  CHECK(bare.exit_status == 2);
  CHECK_THAT(bare.err, Catch::Contains("--firmware is required without -c"));
  // A kernel that no longer matches the manifest: what launch refuses, measure refuses (exit 3).
  test::put(dir.path(), "tdx.qcow2.vmlinuz", test::synthetic_pe() + "tampered");
  auto changed = test::run_tdxctl({"image", "measure", "-c", (dir / "host.yaml").string()});
  CHECK(changed.exit_status == 3);
  CHECK_THAT(changed.err, Catch::Contains("tdx.qcow2.vmlinuz"));
  // An image without a manifest: the hint names what measure can use, not
  // launch's td.boot: firmware (which measure refuses).
  test::put(dir.path(), "bare.yaml", "td:\n  image: bare.qcow2\n");
  auto bare_image = test::run_tdxctl({"image", "measure", "-c", (dir / "bare.yaml").string()});
  CHECK(bare_image.exit_status == 3);
  CHECK_THAT(bare_image.err, Catch::Contains("bare.qcow2.manifest.json") && Catch::Contains("--kernel") &&
                                 !Catch::Contains("td.boot: firmware"));
  // td.boot: firmware boots the image's own bootloader: nothing to predict.
  test::put(dir.path(), "host.yaml", "td:\n  image: tdx.qcow2\n  boot: firmware\n");
  auto firmware_boot = test::run_tdxctl({"image", "measure", "-c", (dir / "host.yaml").string()});
  CHECK(firmware_boot.exit_status == 2);
  CHECK_THAT(firmware_boot.err, Catch::Contains("td.boot is firmware"));
}
