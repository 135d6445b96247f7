// tdxctl image build on a real Debian 12 base: debootstrap --variant=minbase
// with the cloud kernel, systemd, initramfs-tools and cryptsetup-initramfs
// (tests/fixtures/image/make-debian-base.sh, cached in the build tree). Here
// the guest's own update-initramfs runs the tdxctl hook, so this proves what
// the stand-in base cannot: the hook and premount script work with real
// initramfs-tools, and the unlock client starts inside the real initramfs with
// only the libraries the hook copied (a minbase guest has no libcurl, no
// libspdlog: tdxctl must bring them).
#include "support/fixtures.hpp"
#include "tdxctl/core/fs.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace tdx;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path debian_base() {
  auto cached = fs::path(TDXCTL_BINARY).parent_path() / "image-fixture" / "debian-12-base.qcow2";
  fs::create_directories(cached.parent_path());
  core::RealRunner runner;
  core::Command make{{(test::tests_dir() / "fixtures/image/make-debian-base.sh").string(), cached.string()}};
  make.timeout = std::chrono::minutes(30); // debootstrap downloads ~150 MB from the mirror
  auto r = runner.run(make);
  INFO((r ? r->err : r.error().message));
  REQUIRE((r && r->ok()));
  return cached;
}

std::string sha256_of(const fs::path& p) {
  core::RealRunner runner;
  return core::run_checked(runner, {{"sha256sum", p.string()}}, "sha256sum").out.substr(0, 64);
}

std::string sha384_of(const fs::path& p) {
  core::RealRunner runner;
  return core::run_checked(runner, {{"sha384sum", p.string()}}, "sha384sum").out.substr(0, 96);
}

const std::vector<std::string> env{"LIBGUESTFS_BACKEND=direct"};

} // namespace

TEST_CASE("image build on a debootstrapped Debian 12 base: real initramfs-tools carries a working unlock client",
          "[guestfs][debian]") {
  auto base = debian_base();
  core::TempDir dir;
  auto firmware = (test::testdata() / "tdvf/OVMF.inteltdx.ms.fd").string();
  test::put(dir.path(), "image.yaml",
            "base:\n  path: " + base.string() + "\n  sha256: " + sha256_of(base) +
                "\noutput: tdx.qcow2\nroot_size: 1G\n"
                "customize:\n  commands: [\"echo built > /etc/tdx-built\"]\n"
                "unlock:\n  nonce_endpoint: https://keys.example/nonce\n"
                "  attestation_endpoint: https://keys.example/attest\n  trust_system_cas: true\n"
                "measure:\n  firmware: " + firmware + "\n  memory_gib: 2\n");
  auto out = dir.path() / "tdx.qcow2";
  auto r = test::run_tdxctl({"-o", "json", "image", "build", "-c", (dir.path() / "image.yaml").string(),
                             "--reproducible", "--argon2-memory", "32768", "--argon2-iterations", "4"},
                            {}, env);
  INFO(r.err);
  REQUIRE(r.exit_status == 0);
  auto manifest = json::parse(*core::read_file(out.string() + ".manifest.json"));
  // The real kernel the base ships, measured.
  CHECK(manifest["kernel"]["sha384"].get<std::string>().size() == 96);
  // Every stage timed, in the order it ran.
  auto built = json::parse(r.out);
  REQUIRE(built["timings"].size() >= 8);
  CHECK(built["timings"][0]["stage"] == "image.build_dir");
  // Direct boot: the kernel, initrd and command line beside the image, as the
  // manifest records them (the cmdline file is the line itself, no newline).
  auto& boot = manifest["boot_files"];
  CHECK(boot["kernel"]["file"] == "tdx.qcow2.vmlinuz");
  CHECK(boot["initrd"]["file"] == "tdx.qcow2.initrd");
  CHECK(boot["cmdline"]["file"] == "tdx.qcow2.cmdline");
  CHECK(boot["kernel"]["sha384"] == manifest["kernel"]["sha384"]);
  CHECK(sha384_of(dir.path() / "tdx.qcow2.vmlinuz") == boot["kernel"]["sha384"]);
  CHECK(sha384_of(dir.path() / "tdx.qcow2.initrd") == boot["initrd"]["sha384"]);
  CHECK(sha384_of(dir.path() / "tdx.qcow2.cmdline") == boot["cmdline"]["sha384"]);
  CHECK(*core::read_file(dir.path() / "tdx.qcow2.cmdline") == manifest["kernel_cmdline"].get<std::string>());

  // The reference values came with the build, from the files it wrote; a
  // host.yaml that launches this image the same way predicts the same.
  auto predicted = json::parse(*core::read_file(dir.path() / "tdx.qcow2.measure.json"));
  CHECK(predicted["schema"] == "tdxctl.image.measure/1");
  CHECK(manifest["measure"]["mrtd"] == predicted["mrtd"]);
  CHECK(manifest["measure"]["rtmr"] == predicted["rtmr"]);
  test::put(dir.path(), "host.yaml", "td:\n  image: tdx.qcow2\n  memory_gib: 2\n  firmware: " + firmware + "\n");
  auto measured = test::run_tdxctl({"-o", "json", "image", "measure", "-c", (dir.path() / "host.yaml").string()});
  INFO(measured.err);
  REQUIRE(measured.exit_status == 0);
  auto from_launch = json::parse(measured.out);
  CHECK(from_launch["mrtd"] == predicted["mrtd"]);
  CHECK(from_launch["rtmr"] == predicted["rtmr"]);
  CHECK(from_launch["events"] == predicted["events"]);
  // RTMR1's first event is the kernel's Authenticode hash: a real PE kernel was parsed.
  CHECK(predicted["rtmr"][1].get<std::string>().size() == 96);

  // Reproducible: the same base, image.yaml and key, built again elsewhere
  // (another output directory, the work tree on /dev/shm, another
  // filesystem) give byte-identical filesystems, kernel, initrd and command
  // line; with --reproducible (both builds) the same LUKS volume and qcow2 too.
  core::TempDir again;
  test::put(again.path(), "image.yaml", *core::read_file(dir.path() / "image.yaml"));
  auto rebuilt = test::run_tdxctl({"-o", "json", "image", "build", "-c", (again.path() / "image.yaml").string(),
                                   "--key-file", out.string() + ".key", "--build-dir", "/dev/shm", "--reproducible",
                                   "--argon2-memory", "32768", "--argon2-iterations", "4"},
                                  {}, env);
  INFO(rebuilt.err);
  REQUIRE(rebuilt.exit_status == 0);
  auto second = json::parse(*core::read_file(again.path() / "tdx.qcow2.manifest.json"));
  for (auto key : {"root_fs_sha256", "boot_fs_sha256", "kernel", "initrd", "kernel_cmdline", "root_fs_uuid", "luks",
                   "image_sha256"}) {
    INFO(key);
    CHECK(second[key] == manifest[key]);
  }
  for (auto file : {"tdx.qcow2", "tdx.qcow2.vmlinuz", "tdx.qcow2.initrd", "tdx.qcow2.cmdline"}) {
    INFO(file);
    CHECK(sha256_of(again.path() / file) == sha256_of(dir.path() / file));
  }

  r = test::run_tdxctl({"-o", "json", "image", "verify", out.string(), "--key-file", out.string() + ".key"}, {}, env);
  INFO(r.out + r.err);
  CHECK(r.exit_status == 0);
  auto doc = json::parse(r.out);
  std::map<std::string, json> checks;
  for (auto& c : doc["checks"]) checks[c["name"].get<std::string>()] = c;
  for (auto name : {"luks.open", "root.fsck", "crypttab", "fstab", "unlock.conf", "unlock.script",
                    "initramfs.hook", "tdxctl-guest", "initramfs.contents", "initramfs.tdxctl-guest"}) {
    INFO(name);
    REQUIRE(checks.count(name) == 1);
    CHECK(checks[name]["ok"] == true);
  }
  CHECK(checks["initramfs.contents"]["detail"].get<std::string>().find("cloud-amd64") != std::string::npos);
}
