// volume/config_volume: the netplan layout the guest's initramfs parses, the
// content manifest digest, and a real creation (mke2fs, debugfs, qemu-img)
// read back with e2fsprogs' debugfs and blkid.
#include "tdxctl/volume/config_volume.hpp"

#include "support/fixtures.hpp"
#include "tdxctl/core/disk_image.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>

using namespace tdx;
using namespace tdx::volume;
namespace fs = std::filesystem;

static std::shared_ptr<const ConfigValues> sample_values() {
  auto v = std::make_shared<ConfigValues>();
  v->hostname = "miner-0";
  v->miner_ss58 = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
  v->miner_seed = core::Secret(std::string(64, 'b'));
  v->vm_ip = {"192.168.100.2", 24, 0xc0a86402};
  v->gateway = "192.168.100.1";
  v->dns = {"1.1.1.1", "8.8.8.8"};
  return v;
}

static std::string run(const std::vector<std::string>& argv) {
  core::RealRunner runner;
  return core::run_checked(runner, core::Command{argv}, argv[0]).out;
}

TEST_CASE("volume: netplan keeps create-config.sh's exact block layout") {
  CHECK(render_netplan(*sample_values()) == "network:\n"
                                            "  version: 2\n"
                                            "  ethernets:\n"
                                            "    any-ethernet:\n"
                                            "      match:\n"
                                            "        name: \"en*\"\n"
                                            "      addresses:\n"
                                            "        - 192.168.100.2/24\n"
                                            "      routes:\n"
                                            "        - to: default\n"
                                            "          via: 192.168.100.1\n"
                                            "      nameservers:\n"
                                            "        addresses:\n"
                                            "          - 1.1.1.1\n"
                                            "          - 8.8.8.8\n");
}

TEST_CASE("volume: the content manifest is canonical: order-independent, mode- and content-sensitive") {
  std::vector<ManifestEntry> a{{"b", 0644, "x"}, {"a", 0600, "y"}};
  std::vector<ManifestEntry> b{{"a", 0600, "y"}, {"b", 0644, "x"}};
  CHECK(content_manifest("tdx-config", a) == content_manifest("tdx-config", b));
  auto m = content_manifest("tdx-config", a);
  CHECK(m.rfind("tdxctl.volume.config-manifest/1\nlabel tdx-config\n0600 1 ", 0) == 0);
  std::vector<ManifestEntry> c{{"a", 0644, "y"}, {"b", 0644, "x"}};
  CHECK(sha384_hex(m) != sha384_hex(content_manifest("tdx-config", c)));
  CHECK(sha384_hex("abc") == "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
                             "8086072ba1e7cc2358baeca134c825a7");
  CHECK(digest_line(std::string(96, 'a'), "/x/config.qcow2") == std::string(96, 'a') + "  config.qcow2\n");
}

TEST_CASE("volume: a raw config volume: label, files, modes and root owners, read with debugfs") {
  core::TempDir dir;
  auto out = dir.path() / "config.raw";
  core::RealRunner runner;
  auto planned = plan_config_volume({out, VolumeFormat::raw, core::Force::no}, sample_values(), runner, runner);
  auto sink = core::make_stderr_progress(core::ProgressMode::none);
  auto report = planned.plan.apply(core::DryRun::no, *sink);
  CHECK(report.changed);
  struct stat st{};
  REQUIRE(::stat(out.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(st.st_size == 16 << 20);
  CHECK(core::trim(run({"blkid", "-p", "-s", "LABEL", "-o", "value", out.string()})) == "tdx-config");
  CHECK(run({"debugfs", "-R", "cat /hostname", out.string()}) == "miner-0\n");
  CHECK(run({"debugfs", "-R", "cat /miner-seed", out.string()}) == std::string(64, 'b') + "\n");
  auto seed_stat = run({"debugfs", "-R", "stat /miner-seed", out.string()});
  CHECK(seed_stat.find("Mode:  0600") != std::string::npos);
  CHECK(seed_stat.find("User:     0   Group:     0") != std::string::npos);
  CHECK(run({"debugfs", "-R", "stat /hostname", out.string()}).find("Mode:  0644") != std::string::npos);
  CHECK(core::value_or_throw(core::read_file(digest_path(out))) == digest_line(planned.digest, out));
  // Nothing else is left in the directory: no staging copy of the seed, no temporaries.
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir.path())) names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"config.raw", "config.raw.sha384"});

  SECTION("the same request again changes nothing") {
    auto again = plan_config_volume({out, VolumeFormat::raw, core::Force::no}, sample_values(), runner, runner);
    CHECK_FALSE(again.plan.apply(core::DryRun::no, *sink).changed);
  }
  SECTION("different values are refused without --force and replace it with --force") {
    auto other = std::make_shared<ConfigValues>();
    other->hostname = "miner-1";
    other->miner_ss58 = sample_values()->miner_ss58;
    other->miner_seed = core::Secret(std::string(64, 'c'));
    other->vm_ip = sample_values()->vm_ip;
    other->gateway = "192.168.100.1";
    other->dns = {"1.1.1.1"};
    CHECK_THROWS_WITH(plan_config_volume({out, VolumeFormat::raw, core::Force::no}, other, runner, runner),
                      Catch::Contains("already exists"));
    auto forced = plan_config_volume({out, VolumeFormat::raw, core::Force::yes}, other, runner, runner);
    CHECK(forced.plan.apply(core::DryRun::no, *sink).changed);
    CHECK(run({"debugfs", "-R", "cat /hostname", out.string()}) == "miner-1\n");
  }
}

TEST_CASE("volume: a qcow2 config volume is a 16 MiB qcow2 with mode 0600") {
  core::TempDir dir;
  auto out = dir.path() / "config.qcow2";
  core::RealRunner runner;
  auto planned = plan_config_volume({out, VolumeFormat::qcow2, core::Force::no}, sample_values(), runner, runner);
  auto sink = core::make_stderr_progress(core::ProgressMode::none);
  planned.plan.apply(core::DryRun::no, *sink);
  auto info = core::disk_info(runner, out);
  REQUIRE(info);
  CHECK(info->format == "qcow2");
  CHECK(info->virtual_size == 16u << 20);
  struct stat st{};
  REQUIRE(::stat(out.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
}

TEST_CASE("volume: dry run plans and writes nothing") {
  core::TempDir dir;
  auto out = dir.path() / "config.qcow2";
  core::RecordingRunner runner;
  auto planned = plan_config_volume({out, VolumeFormat::qcow2, core::Force::no}, sample_values(), runner, runner);
  auto sink = core::make_stderr_progress(core::ProgressMode::none);
  auto report = planned.plan.apply(core::DryRun::yes, *sink);
  CHECK(report.dry_run);
  CHECK(report.steps.size() == 5);
  CHECK(runner.commands().empty());
  CHECK(fs::is_empty(dir.path()));
  // The plan shows what would be written, never the seed.
  CHECK(planned.plan.to_json().dump().find(std::string(64, 'b')) == std::string::npos);
}
