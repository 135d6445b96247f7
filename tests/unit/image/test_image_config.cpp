// image/: image.yaml parsing with file:line:col + dotted-key errors, sizes,
// derived UUIDs and the kernel command line.
#include "support/fixtures.hpp"
#include "tdxctl/image/build.hpp"
#include "tdxctl/image/image_config.hpp"
#include "tdxctl/image/templates.hpp"
#include "tdxctl/image/unlock_conf.hpp"
#include "tdxctl/unlock/unlock_config.hpp"

#include <catch2/catch.hpp>

using namespace tdx;

namespace {
const std::string sha(64, 'a');
std::string valid_yaml() {
  return "base:\n  path: base.qcow2\n  sha256: " + sha +
         "\noutput: out/tdx.qcow2\nroot_size: 2G\nkernel_cmdline: console=ttyS0\n"
         "customize:\n  commands: [\"echo hi > /etc/motd\"]\n  enable_units: [k3s.service]\n"
         "  lock_users: [ubuntu]\n"
         "unlock:\n  nonce_endpoint: https://keys.example/nonce\n"
         "  attestation_endpoint: https://keys.example/attest\n  retries: 5\n"
         "  trust_system_cas: true\n";
}
std::string error_of(const std::string& text) {
  try {
    image::parse_image_config(text, "/cfg/image.yaml");
  } catch (const core::Failure& f) {
    CHECK(f.error().category == core::Category::invalid_input);
    return f.error().message;
  }
  return "";
}
} // namespace

TEST_CASE("a valid image.yaml parses with defaults for the guest contracts") {
  auto c = image::parse_image_config(valid_yaml(), "/cfg/image.yaml");
  CHECK(c.base == "/cfg/base.qcow2");
  CHECK(c.base_sha256 == sha);
  CHECK(c.output == "/cfg/out/tdx.qcow2");
  CHECK(c.root_size == (2ull << 30));
  CHECK(c.unlock.retries == 5);
  CHECK(c.unlock.timeout_s == 30);
  REQUIRE(c.volumes.size() == 3);
  CHECK(c.volumes[0].label == "tdx-config");
  CHECK(c.volumes[0].mount == "/var/config");
  CHECK(c.volumes[2].mount == "/var/lib/rancher/k3s/agent/containerd");
  // The containerd volume is encrypted by the guest, found by the host's disk serial.
  CHECK(c.volumes[2].encrypted);
  CHECK(c.volumes[2].disk == "td-containerd");
  CHECK_FALSE(c.volumes[1].encrypted);
  CHECK(c.disable_ssh_password);
  CHECK(image::kernel_cmdline_for(c) ==
        "root=/dev/mapper/root ro module.sig_enforce=1 systemd.mask=getty@tty1.service "
        "systemd.mask=serial-getty@ttyS0.service console=ttyS0");
}

TEST_CASE("image.yaml errors name file, line, column and the dotted key, all reported at once") {
  auto text = valid_yaml();
  text.replace(text.find("retries: 5"), 10, "retries: many");
  text.replace(text.find("https://keys.example/nonce"), 26, "http://keys.example/nonce");
  text += "colour: blue\n";
  auto msg = error_of(text);
  CHECK(msg.find("/cfg/image.yaml:") != std::string::npos);
  CHECK(msg.find("key 'unlock.retries': expected an integer, got 'many'") != std::string::npos);
  CHECK(msg.find("key 'unlock.nonce_endpoint': 'http://keys.example/nonce' is not an https:// URL") !=
        std::string::npos);
  CHECK(msg.find("key 'colour': unknown key") != std::string::npos);
  CHECK(msg.find("/cfg/image.yaml:16:1: key 'colour'") != std::string::npos);
}

TEST_CASE("image.yaml rejects bad checksums, sizes, units, modes and missing sections") {
  auto bad_sha = valid_yaml();
  bad_sha.replace(bad_sha.find(sha), 64, "abc");
  CHECK(error_of(bad_sha).find("key 'base.sha256': expected 64 hex digits") != std::string::npos);
  auto small = valid_yaml();
  small.replace(small.find("root_size: 2G"), 13, "root_size: 1M");
  CHECK(error_of(small).find("key 'root_size'") != std::string::npos);
  auto unit = valid_yaml();
  unit.replace(unit.find("k3s.service"), 11, "k3s");
  CHECK(error_of(unit).find("'k3s' is not a systemd unit name") != std::string::npos);
  auto file = valid_yaml() + "";
  file.replace(file.find("customize:\n"), 11,
               "customize:\n  files:\n    - {src: /nonexistent/x, dest: etc/x, mode: '999'}\n");
  auto m = error_of(file);
  CHECK(m.find("key 'customize.files[0].src': no such file") != std::string::npos);
  CHECK(m.find("key 'customize.files[0].dest': expected an absolute guest path") != std::string::npos);
  CHECK(m.find("key 'customize.files[0].mode': expected an octal mode") != std::string::npos);
  CHECK(error_of("output: x.qcow2\n").find("missing key 'base'") != std::string::npos);
}

TEST_CASE("image.yaml volumes: an encrypted one is named by its disk serial, and there is one at most") {
  auto with = [](const std::string& volumes) { return valid_yaml() + "volumes:\n" + volumes; };
  auto c = image::parse_image_config(
      with("  - {label: data, mount: /data, encrypted: true, disk: td-containerd}\n  - {label: tdx-cache, mount: /c}\n"),
      "/cfg/image.yaml");
  REQUIRE(c.volumes.size() == 2);
  CHECK(c.volumes[0].encrypted);
  CHECK(c.volumes[0].disk == "td-containerd");
  auto values = image::unlock_template_values(c.unlock, "6f1c2b3a-0000-4000-8000-1234567890ab", c.volumes);
  CHECK(values["containerd_disk"] == "td-containerd");
  CHECK(values["containerd_name"] == "data");
  CHECK_THAT(error_of(with("  - {label: data, mount: /data, encrypted: true}\n")),
             Catch::Contains("key 'volumes[0]'") && Catch::Contains("needs key 'disk'"));
  CHECK_THAT(error_of(with("  - {label: data, mount: /data, disk: td-containerd}\n")),
             Catch::Contains("add 'encrypted: true'"));
  CHECK_THAT(error_of(with("  - {label: data, mount: /data, encrypted: true, disk: /dev/vdd}\n")),
             Catch::Contains("not a disk serial"));
  CHECK_THAT(error_of(with("  - {label: a, mount: /a, encrypted: true, disk: td-a}\n"
                           "  - {label: b, mount: /b, encrypted: true, disk: td-b}\n")),
             Catch::Contains("only one volume can be encrypted"));
}

TEST_CASE("derived UUIDs") {
  auto a = image::derive_uuid(std::string(64, '1'), "luks");
  CHECK(a == image::derive_uuid(std::string(64, '1'), "luks"));
  CHECK(a != image::derive_uuid(std::string(64, '1'), "rootfs"));
  CHECK(a.size() == 36);
  CHECK(a[14] == '5');
}

TEST_CASE("unlock.ca_cert is required unless trust_system_cas says otherwise, never both") {
  auto without = valid_yaml();
  without.erase(without.find("  trust_system_cas: true\n"));
  CHECK(error_of(without).find("key 'unlock': missing key 'ca_cert'") != std::string::npos);
  CHECK(error_of(without).find("set trust_system_cas: true") != std::string::npos);
  auto both = valid_yaml() + "";
  both.replace(both.find("  trust_system_cas: true\n"), 24, "  trust_system_cas: true\n  ca_cert: /etc/hostname\n");
  CHECK(error_of(both).find("key 'unlock.trust_system_cas': contradicts ca_cert") != std::string::npos);
  CHECK(image::parse_image_config(valid_yaml(), "/cfg/image.yaml").unlock.trust_system_cas);
}

TEST_CASE("unlock values the guest's unlock.conf parser would refuse fail at build time, naming the key") {
  auto c = image::parse_image_config(valid_yaml(), "/cfg/image.yaml");
  const std::string uuid = "0f0e0d0c-0b0a-4908-8706-050403020100";
  CHECK_NOTHROW(image::check_unlock_conf(c, uuid));
  c.unlock.nonce_endpoint = "https://keys.example/nonce?a=1&b=2";
  try {
    image::check_unlock_conf(c, uuid);
    FAIL("accepted a URL the guest refuses");
  } catch (const core::Failure& f) {
    CHECK(f.error().category == core::Category::invalid_input);
    CHECK(f.error().message.find("/cfg/image.yaml: key 'unlock.nonce_endpoint': tdxctl-guest would refuse") !=
          std::string::npos);
    CHECK(f.error().message.find("character '&' needs quoting") != std::string::npos);
  }
  c = image::parse_image_config(valid_yaml(), "/cfg/image.yaml");
  c.unlock.attestation_endpoint = "https://keys.example/attest\nTDX_LUKS_NAME=evil";
  CHECK_THROWS_WITH(image::check_unlock_conf(c, uuid), Catch::Contains("key 'unlock.attestation_endpoint'"));
  // In image.yaml itself a newline is caught with its line, by the guest's URL rule.
  auto text = valid_yaml();
  text.replace(text.find("https://keys.example/attest"), 27, "\"https://keys.example/a\\nb\"");
  CHECK(error_of(text).find("key 'unlock.attestation_endpoint': 'https://keys.example/a\nb' contains a space") !=
        std::string::npos);
}

TEST_CASE("unlock.insecure_sample_evidence reaches unlock.conf; a production image says 0") {
  const std::string uuid = "0f0e0d0c-0b0a-4908-8706-050403020100";
  auto production = image::parse_image_config(valid_yaml(), "/cfg/image.yaml");
  CHECK_FALSE(production.unlock.insecure_sample_evidence);
  auto conf = image::render_template("unlock.conf", image::unlock_template_values(production.unlock, uuid, production.volumes));
  CHECK_FALSE(core::value_or_throw(unlock::parse_unlock_config(conf, "unlock.conf")).insecure_sample_evidence);
  CHECK_THAT(conf, Catch::Contains("TDX_INSECURE_SAMPLE_EVIDENCE=0\n"));

  auto text = valid_yaml();
  text.replace(text.find("  trust_system_cas: true\n"), 24,
               "  trust_system_cas: true\n  insecure_sample_evidence: true\n");
  auto test_image = image::parse_image_config(text, "/cfg/image.yaml");
  CHECK(test_image.unlock.insecure_sample_evidence);
  CHECK_NOTHROW(image::check_unlock_conf(test_image, uuid));
  conf = image::render_template("unlock.conf", image::unlock_template_values(test_image.unlock, uuid, test_image.volumes));
  CHECK(core::value_or_throw(unlock::parse_unlock_config(conf, "unlock.conf")).insecure_sample_evidence);
  CHECK(test_image.to_json()["unlock"]["insecure_sample_evidence"] == true);

  text.replace(text.find("insecure_sample_evidence: true"), 30, "insecure_sample_evidence: maybe");
  CHECK(error_of(text).find("unlock.insecure_sample_evidence") != std::string::npos);
}

TEST_CASE("image.yaml measure: names the firmware and shape; files are taken from image.yaml's directory") {
  core::TempDir dir;
  test::put(dir.path(), "fw/TDVF.fd", "firmware bytes");
  test::put(dir.path(), "platform.json", "{}");
  auto c = image::parse_image_config(valid_yaml() + "measure:\n  firmware: fw/TDVF.fd\n  memory_gib: 16\n"
                                                    "  platform: platform.json\n",
                                     dir.path() / "image.yaml");
  REQUIRE(c.measure);
  CHECK(c.measure->firmware == dir.path() / "fw/TDVF.fd");
  CHECK(c.measure->memory_gib == 16);
  CHECK(c.measure->platform == dir.path() / "platform.json");
  CHECK(c.to_json()["measure"]["memory_gib"] == 16);
  CHECK_FALSE(image::parse_image_config(valid_yaml(), dir.path() / "image.yaml").measure);

  auto error = [&](const std::string& section) {
    try {
      image::parse_image_config(valid_yaml() + section, dir.path() / "image.yaml");
    } catch (const core::Failure& f) {
      return f.error().message;
    }
    return std::string();
  };
  CHECK_THAT(error("measure:\n  memory_gib: 2\n"), Catch::Contains("key 'measure': missing key 'firmware'"));
  CHECK_THAT(error("measure:\n  firmware: fw/TDVF.fd\n"), Catch::Contains("missing key 'memory_gib'"));
  CHECK_THAT(error("measure:\n  firmware: nope.fd\n  memory_gib: 2\n"),
             Catch::Contains("key 'measure.firmware': no such file"));
  CHECK_THAT(error("measure:\n  firmware: fw/TDVF.fd\n  memory_gib: 2\n  platform: platform.json\n"
                   "  acpi_tables: platform.json\n"),
             Catch::Contains("give platform or acpi_tables, not both"));
  CHECK_THAT(error("measure:\n  firmware: fw/TDVF.fd\n  memory_gib: 2\n  vcpus: 4\n"),
             Catch::Contains("key 'measure.vcpus': unknown key"));
}

TEST_CASE("parse_file_mode: octal, all of the text, at most 07777") {
  CHECK(image::parse_file_mode("0644") == 0644);
  CHECK(image::parse_file_mode("644") == 0644);
  CHECK(image::parse_file_mode("4755") == 04755);
  CHECK(image::parse_file_mode("07777") == 07777);
  CHECK(image::parse_file_mode("0") == 0);
  CHECK_FALSE(image::parse_file_mode("10000"));
  CHECK_FALSE(image::parse_file_mode("0648"));
  CHECK_FALSE(image::parse_file_mode("644 "));
  CHECK_FALSE(image::parse_file_mode("rw-r--r--"));
  CHECK_FALSE(image::parse_file_mode(""));
  CHECK_FALSE(image::parse_file_mode("99999999999999999999"));
}
