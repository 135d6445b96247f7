// tdxctl image build/inspect/verify end to end on a small real GPT base image
// (tests/fixtures/image/make-base.sh, cached in the build tree), with the real
// libguestfs appliance (TCG), libcryptsetup, qemu-img and sfdisk.
#include "support/fixtures.hpp"
#include "tdxctl/core/fs.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <sys/stat.h>

using namespace tdx;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path base_image() {
  // -v2: the stand-in update-initramfs follows the hook's copy_exec lines.
  auto cached = fs::path(TDXCTL_BINARY).parent_path() / "image-fixture" / "base-v2.qcow2";
  fs::create_directories(cached.parent_path());
  core::RealRunner runner;
  core::run_checked(runner, {{(test::tests_dir() / "fixtures/image/make-base.sh").string(), cached.string()}},
                    "make-base.sh");
  return cached;
}

std::string sha256_of(const fs::path& p) {
  core::RealRunner runner;
  return core::run_checked(runner, {{"sha256sum", p.string()}}, "sha256sum").out.substr(0, 64);
}

const std::vector<std::string> env{"LIBGUESTFS_BACKEND=direct"};
const std::vector<std::string> fast{"--argon2-memory", "32768", "--argon2-iterations", "4"};

std::vector<std::string> args(std::initializer_list<std::string> a, bool with_fast = false) {
  std::vector<std::string> v(a);
  if (with_fast) v.insert(v.end(), fast.begin(), fast.end());
  return v;
}

} // namespace

TEST_CASE("image build refuses bad inputs before any output appears", "[guestfs]") {
  auto base = base_image();
  core::TempDir dir;
  const std::string good_unlock =
      "{nonce_endpoint: 'https://k/n', attestation_endpoint: 'https://k/a', trust_system_cas: true}";
  // NAME.yaml building NAME.qcow2 from the fixture base; returns its path.
  auto yaml = [&](const std::string& name, const std::string& sum, const std::string& unlock,
                  const std::string& extra = "") {
    test::put(dir.path(), name + ".yaml",
              "base: {path: " + base.string() + ", sha256: " + sum + "}\noutput: " + name + ".qcow2\n" +
                  extra + "unlock: " + unlock + "\n");
    return (dir.path() / (name + ".yaml")).string();
  };
  auto refused_without_output = [&](const std::string& name) {
    CHECK_FALSE(fs::exists(dir.path() / (name + ".qcow2")));
    CHECK_FALSE(fs::exists(dir.path() / (name + ".qcow2.key")));
  };
  auto r = test::run_tdxctl(args({"image", "build", "-c", yaml("out", std::string(64, '0'), good_unlock)}, true),
                            {}, env);
  CHECK(r.exit_status == 2);
  CHECK(r.err.find("SHA-256 is " + sha256_of(base)) != std::string::npos);
  refused_without_output("out");

  test::put(dir.path(), "out.qcow2", "someone else's file");
  r = test::run_tdxctl(args({"image", "build", "-c", yaml("out", sha256_of(base), good_unlock)}, true), {}, env);
  CHECK(r.exit_status == 2);
  CHECK(r.err.find("exists") != std::string::npos);
  CHECK(*core::read_file(dir.path() / "out.qcow2") == "someone else's file");

  fs::remove(dir.path() / "out.qcow2");
  // The base root filesystem is 160 MiB: a 64 MiB root cannot hold it.
  r = test::run_tdxctl(
      args({"image", "build", "-c", yaml("small", sha256_of(base), good_unlock, "root_size: 64M\n")}, true), {},
      env);
  CHECK(r.exit_status == 2);
  CHECK(r.err.find("smaller than the base root filesystem") != std::string::npos);
  refused_without_output("small");

  r = test::run_tdxctl(
      args({"-n", "-o", "json", "image", "build", "-c", yaml("out", sha256_of(base), good_unlock)}, true), {}, env);
  REQUIRE(r.exit_status == 0);
  auto doc = json::parse(r.out);
  CHECK(doc["schema"] == "tdxctl.image.build/1");
  CHECK(doc["plan"].size() == 10); // + root.unpack and root.mkfs of the native build
  CHECK_FALSE(fs::exists(dir.path() / "out.qcow2"));

  // A key URL the guest's unlock.conf parser refuses at boot fails the build now, naming the key.
  r = test::run_tdxctl(
      args({"image", "build", "-c",
            yaml("amp", sha256_of(base),
                 "{nonce_endpoint: 'https://k/n?a=1&b=2', attestation_endpoint: 'https://k/a', "
                 "trust_system_cas: true}")},
           true),
      {}, env);
  CHECK(r.exit_status == 2);
  CHECK_THAT(r.err, Catch::Contains("key 'unlock.nonce_endpoint': tdxctl-guest would refuse"));
  refused_without_output("amp");
  // No CA and no explicit opt-out: refused (the initramfs would trust every public CA).
  r = test::run_tdxctl(
      args({"image", "build", "-c",
            yaml("noca", sha256_of(base), "{nonce_endpoint: 'https://k/n', attestation_endpoint: 'https://k/a'}")},
           true),
      {}, env);
  CHECK(r.exit_status == 2);
  CHECK_THAT(r.err, Catch::Contains("missing key 'ca_cert'"));
  refused_without_output("noca");
  // --reproducible with a benchmarked KDF cost could never reproduce: refused at once.
  r = test::run_tdxctl({"image", "build", "-c", yaml("rep", sha256_of(base), good_unlock), "--reproducible"}, {}, env);
  CHECK(r.exit_status == 2);
  CHECK_THAT(r.err, Catch::Contains("--argon2-iterations"));
  refused_without_output("rep");
}

TEST_CASE("image build makes a LUKS2-rooted image that dm-crypt opens, inspect and verify agree",
          "[guestfs]") {
  auto base = base_image();
  core::TempDir dir;
  test::put(dir.path(), "motd", "welcome to the TD\n");
  test::put(dir.path(), "ca.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
  test::put(dir.path(), "image.yaml",
            "base:\n  path: " + base.string() + "\n  sha256: " + sha256_of(base) +
                "\noutput: tdx.qcow2\nroot_size: 256M\nkernel_cmdline: console=ttyS0\n"
                "customize:\n  files:\n    - {src: motd, dest: /etc/motd, mode: '0640'}\n"
                "  commands: [\"echo built > /etc/tdx-built\"]\n"
                "unlock:\n  nonce_endpoint: https://keys.example/nonce\n"
                "  attestation_endpoint: https://keys.example/attest\n  ca_cert: ca.pem\n");
  auto cfg = (dir.path() / "image.yaml").string();
  auto out = dir.path() / "tdx.qcow2";

  // Another user prepared the old predictable work directory: their own base
  // with a stamp holding the pinned hash, and root.img pointing at a file
  // root owns. The build must use neither, nor write through the link.
  auto planted = dir.path() / "tdx.qcow2.build";
  test::put(planted, "base.raw", "attacker's base");
  test::put(planted, "base.raw.sha256", sha256_of(base) + "\n");
  test::put(dir.path(), "victim", "root-owned file\n");
  fs::create_symlink(dir.path() / "victim", planted / "root.img");

  auto r = test::run_tdxctl(args({"-o", "json", "image", "build", "-c", cfg}, true), {}, env);
  INFO(r.err);
  REQUIRE(r.exit_status == 0);
  CHECK(*core::read_file(dir.path() / "victim") == "root-owned file\n");
  CHECK(*core::read_file(planted / "base.raw") == "attacker's base");
  CHECK(fs::is_symlink(planted / "root.img"));
  // The private work directory went with the build.
  for (const auto& e : fs::directory_iterator(dir.path()))
    CHECK(e.path().filename().string().find(".tdx.qcow2.build.") == std::string::npos);
  auto doc = json::parse(r.out);
  CHECK(doc["changed"] == true);
  auto manifest = json::parse(*core::read_file(out.string() + ".manifest.json"));
  CHECK(manifest["image_sha256"] == sha256_of(out));
  CHECK(manifest["luks"]["cipher"] == "aes-xts-plain64");
  CHECK(manifest["luks"]["sector_size"] == 4096);
  CHECK(manifest["kernel_cmdline"] ==
        "root=/dev/mapper/root ro module.sig_enforce=1 systemd.mask=getty@tty1.service "
        "systemd.mask=serial-getty@ttyS0.service console=ttyS0");
  CHECK(manifest["kernel"]["sha384"].get<std::string>().size() == 96);
  auto key_path = fs::path(out.string() + ".key");
  struct stat st{};
  REQUIRE(::stat(key_path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto key = *core::read_file(key_path);
  key.pop_back();
  CHECK(r.err.find(key) == std::string::npos);
  // Neither the key nor the plaintext is anywhere in the image file.
  auto image_bytes = *core::read_file(out);
  CHECK(image_bytes.find(key) == std::string::npos);
  CHECK(image_bytes.find("welcome to the TD") == std::string::npos);

  // Same inputs: nothing to do.
  r = test::run_tdxctl(args({"-o", "json", "image", "build", "-c", cfg}, true), {}, env);
  REQUIRE(r.exit_status == 0);
  CHECK(json::parse(r.out)["changed"] == false);

  r = test::run_tdxctl({"-o", "json", "image", "inspect", out.string()}, {}, env);
  INFO(r.err);
  REQUIRE(r.exit_status == 0);
  doc = json::parse(r.out);
  CHECK(doc["schema"] == "tdxctl.image.inspect/1");
  CHECK(doc["luks"]["uuid"] == manifest["luks"]["uuid"]);
  CHECK(doc["luks"]["keyslots"].size() == 1);
  CHECK(doc["manifest"]["status"] == "ok");
  CHECK(doc["partitions"].size() == 3);

  r = test::run_tdxctl({"-o", "json", "image", "verify", out.string(), "--key-file", key_path.string()}, {}, env);
  INFO(r.out + r.err);
  CHECK(r.exit_status == 0);
  doc = json::parse(r.out);
  CHECK(doc["ok"] == true);

  test::put(dir.path(), "wrong.key", "0123456789abcdef0123456789abcdef");
  r = test::run_tdxctl({"image", "verify", out.string(), "--key-file", (dir.path() / "wrong.key").string()}, {}, env);
  CHECK(r.exit_status == 1);
  CHECK(r.out.find("the key does not open") != std::string::npos);
}
