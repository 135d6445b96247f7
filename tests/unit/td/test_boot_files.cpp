// td/boot_files: direct kernel boot from the image's manifest. The domain
// gets <kernel>, <initrd> and <cmdline> (and stays valid against libvirt
// 12.8's schema), td.boot: firmware keeps the disk boot, and launch's
// preflight refuses a kernel, initrd or command line whose SHA-384 changed,
// a missing manifest or boot_files, and every way a hostile file could make
// tdxctl read something other than the file the manifest names: a symlink,
// a path in the name, a FIFO, a manifest others can write.
#include "td_fixtures.hpp"
#include "tdxctl/core/config_manifest.hpp"
#include "tdxctl/td/boot_files.hpp"
#include "tdxctl/td/lifecycle.hpp"
#include "tdxctl/up/host_file.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <sys/stat.h>

using namespace tdx;
namespace fs = std::filesystem;

namespace {

// These preflights read no volume back, so they run no command.
core::RecordingRunner probe;

fs::path schema() { return test::testdata() / "libvirt-schemas/domain.rng"; }

td::RenderedDomain render_valid(const td::TdSpec& spec) {
  auto d = td::prepare_domain(core::Root(), spec, "kvm", "");
  if (!d) FAIL(d.error().code + ": " + d.error().message);
  INFO(d->xml);
  auto valid = td::validate_domain_xml(d->xml, schema());
  if (!valid) FAIL(valid.error().message);
  return *d;
}

core::Error render_error(const td::TdSpec& spec) {
  auto d = td::prepare_domain(core::Root(), spec, "kvm", "");
  REQUIRE_FALSE(d);
  return d.error();
}

// The preflight without host checks (no TDX here) and with a no-tdx spec.
core::Error preflight_error(td::TdSpec spec) {
  spec.no_tdx = true;
  auto r = td::preflight(core::Root(), probe, spec, {false, false, "test:///default"});
  REQUIRE_FALSE(r);
  return r.error();
}

nlohmann::json manifest_of(const fs::path& dir) {
  return nlohmann::json::parse(*core::read_file(dir / "td.qcow2.manifest.json"));
}
void write_manifest(const fs::path& dir, const nlohmann::json& m) {
  test::put(dir, "td.qcow2.manifest.json", m.dump(2));
}

} // namespace

TEST_CASE("direct boot (the default): kernel, initrd and cmdline from the manifest, schema-valid") {
  core::TempDir dir;
  auto spec = test::make_volumes(dir.path());
  REQUIRE(spec.boot == td::BootMode::direct);
  test::put_boot_files(dir.path() / "td.qcow2", "root=UUID=0f3c ro console=ttyS0 tdx.x=\"a&b<c>\"");
  auto d = render_valid(spec);
  CHECK_THAT(d.xml, Catch::Contains("<kernel>" + (dir.path() / "td.qcow2.vmlinuz").string() + "</kernel>"));
  CHECK_THAT(d.xml, Catch::Contains("<initrd>" + (dir.path() / "td.qcow2.initrd").string() + "</initrd>"));
  // The exact bytes of the command line file, escaped by libxml2.
  CHECK_THAT(d.xml, Catch::Contains("<cmdline>root=UUID=0f3c ro console=ttyS0 tdx.x=\"a&amp;b&lt;c&gt;\"</cmdline>"));
  CHECK_THAT(d.xml, !Catch::Contains("<boot dev="));
  REQUIRE(d.boot);
  CHECK(d.boot->cmdline == "root=UUID=0f3c ro console=ttyS0 tdx.x=\"a&b<c>\"");
  CHECK(d.boot->to_json()["kernel"]["sha384"].get<std::string>() ==
        manifest_of(dir.path())["boot_files"]["kernel"]["sha384"].get<std::string>());
  REQUIRE(td::preflight(core::Root(), probe, spec, {false, false, "test:///default"}));

  // A relative image path still renders absolute paths (libvirt's absFilePath).
  auto cwd = fs::current_path();
  fs::current_path(dir.path());
  auto relative = spec;
  relative.image = "td.qcow2";
  auto r = td::prepare_domain(core::Root(), relative, "kvm", "");
  fs::current_path(cwd);
  REQUIRE(r);
  CHECK_THAT(r->xml, Catch::Contains("<kernel>" + (dir.path() / "td.qcow2.vmlinuz").string() + "</kernel>"));

  // Another command line is another domain: launch redefines it.
  test::put_boot_files(dir.path() / "td.qcow2", "root=UUID=0f3c ro console=ttyS0 quiet");
  CHECK(render_valid(spec).topology_digest != d.topology_digest);
}

TEST_CASE("td.boot: firmware keeps the disk boot and needs no manifest") {
  core::TempDir dir;
  auto spec = test::make_volumes(dir.path());
  fs::remove(dir.path() / "td.qcow2.manifest.json");
  spec.boot = td::BootMode::firmware;
  auto d = render_valid(spec);
  CHECK_THAT(d.xml, Catch::Contains("<boot dev=\"hd\"/>"));
  CHECK_THAT(d.xml, !Catch::Contains("<kernel>"));
  CHECK_FALSE(d.boot);
  CHECK(td::preflight(core::Root(), probe, spec, {false, false, "test:///default"}));

  test::put(dir.path(), "host.yaml", "td:\n  boot: firmware\n");
  CHECK(up::load_td_spec(dir.path() / "host.yaml").boot == td::BootMode::firmware);
  test::put(dir.path(), "bad.yaml", "td:\n  boot: bios\n");
  try {
    up::load_td_spec(dir.path() / "bad.yaml");
    FAIL("td.boot: bios was accepted");
  } catch (const core::Failure& f) {
    CHECK(f.error().category == core::Category::invalid_input);
    CHECK_THAT(f.error().message, Catch::Contains("bad.yaml:2:9: key 'td.boot': expected direct"));
  }
  td::SpecOverrides flags;
  flags.boot = "firmware";
  CHECK(td::make_spec(flags).boot == td::BootMode::firmware);
}

TEST_CASE("direct boot without a manifest or without boot_files: refused, saying what to do") {
  core::TempDir dir;
  auto spec = test::make_volumes(dir.path());
  fs::remove(dir.path() / "td.qcow2.manifest.json");
  for (const auto& e : {render_error(spec), preflight_error(spec)}) {
    CHECK(e.code == "td.boot_manifest_missing");
    CHECK(e.category == core::Category::not_ready);
    CHECK_THAT(e.message, Catch::Contains((dir.path() / "td.qcow2.manifest.json").string()));
    CHECK_THAT(e.hint, Catch::Contains("`tdxctl image build`"));
    CHECK_THAT(e.hint, Catch::Contains("td.boot: firmware"));
  }
  write_manifest(dir.path(), {{"image", "td.qcow2"}, {"kernel", {{"file", "vmlinuz-6.1"}}}});
  auto e = preflight_error(spec);
  CHECK(e.code == "td.boot_files_missing");
  CHECK_THAT(e.message, Catch::Contains("has no boot_files"));
  CHECK_THAT(e.hint, Catch::Contains("td.boot: firmware"));
}

TEST_CASE("launch refuses a kernel, initrd or command line whose digest no longer matches") {
  for (const char* suffix : {".vmlinuz", ".initrd", ".cmdline"}) {
    DYNAMIC_SECTION(suffix) {
      core::TempDir dir;
      auto spec = test::make_volumes(dir.path());
      auto file = dir.path() / (std::string("td.qcow2") + suffix);
      std::string before = *core::read_file(file);
      test::put(dir.path(), file.filename().string(), before + " panic=1");
      auto e = preflight_error(spec);
      CHECK(e.code == "td.boot_file_mismatch");
      CHECK(e.category == core::Category::not_ready);
      CHECK_THAT(e.message, Catch::Contains(file.string() + " does not match the image's manifest"));
      CHECK_THAT(e.message, Catch::Contains(core::sha384_hex(before + " panic=1")));
      CHECK_THAT(e.hint, Catch::Contains("tdxctl image build"));
      // The command line goes into the XML itself: a changed one is not rendered.
      if (std::string(suffix) == ".cmdline") CHECK(render_error(spec).code == "td.boot_file_mismatch");
      test::put(dir.path(), file.filename().string(), before);
      CHECK(td::preflight(core::Root(), probe, spec, {false, false, "test:///default"}));
    }
  }
}

TEST_CASE("a boot file that is missing, a symlink or not a regular file is refused, not followed") {
  core::TempDir dir;
  auto spec = test::make_volumes(dir.path());
  auto kernel = dir.path() / "td.qcow2.vmlinuz";
  std::string content = *core::read_file(kernel);

  fs::remove(kernel);
  auto missing = preflight_error(spec);
  CHECK(missing.code == "td.boot_file_missing");
  CHECK_THAT(missing.message, Catch::Contains(kernel.string() + " does not exist"));

  // Same bytes, reached through a link: still refused (the link could point anywhere later).
  test::put(dir.path(), "elsewhere/vmlinuz", content);
  fs::create_symlink(dir.path() / "elsewhere/vmlinuz", kernel);
  auto link = preflight_error(spec);
  CHECK(link.code == "td.boot_file_unsafe");
  CHECK(link.category == core::Category::invalid_input);
  CHECK_THAT(link.message, Catch::Contains("symbolic link"));

  // A FIFO would block a reader forever; it is refused at once.
  fs::remove(kernel);
  REQUIRE(::mkfifo(kernel.c_str(), 0644) == 0);
  CHECK(preflight_error(spec).code == "td.boot_file_unsafe");

  // A symlinked command line is not read either (its bytes would reach the XML).
  fs::remove(kernel);
  test::put(dir.path(), kernel.filename().string(), content);
  auto cmdline = dir.path() / "td.qcow2.cmdline";
  test::put(dir.path(), "elsewhere/cmdline", *core::read_file(cmdline));
  fs::remove(cmdline);
  fs::create_symlink(dir.path() / "elsewhere/cmdline", cmdline);
  CHECK(render_error(spec).code == "td.boot_file_unsafe");
}

TEST_CASE("names in the manifest are plain file names in its directory") {
  core::TempDir dir;
  auto spec = test::make_volumes(dir.path());
  auto good = manifest_of(dir.path());
  for (const char* name : {"../outside.vmlinuz", "/etc/passwd", "sub/td.qcow2.vmlinuz", ".hidden", "", "-rf",
                           "a\nb", "td.qcow2.vmlinuz\x01"}) {
    auto m = good;
    m["boot_files"]["kernel"]["file"] = name;
    write_manifest(dir.path(), m);
    auto e = render_error(spec);
    INFO(name);
    CHECK(e.code == "td.boot_manifest_invalid");
    CHECK(e.category == core::Category::invalid_input);
    CHECK_THAT(e.message, Catch::Contains("td.qcow2.manifest.json: key 'boot_files.kernel.file'"));
  }
  auto m = good;
  m["boot_files"]["initrd"]["sha384"] = "abc";
  write_manifest(dir.path(), m);
  CHECK_THAT(render_error(spec).message, Catch::Contains("key 'boot_files.initrd.sha384': expected 96 hex digits"));
  m = good;
  m["boot_files"]["cmdline"] = "td.qcow2.cmdline";
  write_manifest(dir.path(), m);
  CHECK_THAT(render_error(spec).message, Catch::Contains("key 'boot_files.cmdline': expected an object"));
  test::put(dir.path(), "td.qcow2.manifest.json", "{\"boot_files\": {");
  CHECK(render_error(spec).code == "td.boot_manifest_invalid");
  test::put(dir.path(), "td.qcow2.manifest.json", std::string(100000, '[') + std::string(100000, ']'));
  auto deep = render_error(spec);
  CHECK(deep.code == "td.boot_manifest_invalid");
  CHECK_THAT(deep.message, Catch::Contains("nested deeper than"));
}

TEST_CASE("the manifest itself: not through a link, not writable by others") {
  core::TempDir dir;
  auto spec = test::make_volumes(dir.path());
  auto manifest = dir.path() / "td.qcow2.manifest.json";
  fs::permissions(manifest, fs::perms::others_write, fs::perm_options::add);
  auto e = render_error(spec);
  CHECK(e.code == "td.boot_file_unsafe");
  CHECK_THAT(e.message, Catch::Contains("writable by others"));
  fs::permissions(manifest, fs::perms::others_write, fs::perm_options::remove);
  REQUIRE(td::prepare_domain(core::Root(), spec, "kvm", ""));

  fs::rename(manifest, dir.path() / "real.json");
  fs::create_symlink(dir.path() / "real.json", manifest);
  CHECK(render_error(spec).code == "td.boot_file_unsafe");
}

TEST_CASE("a command line that is not one line of printable ASCII, or too long, is refused") {
  core::TempDir dir;
  auto spec = test::make_volumes(dir.path());
  test::put_boot_files(dir.path() / "td.qcow2", "root=/dev/vda1 ro\n");
  auto newline = render_error(spec);
  CHECK(newline.code == "td.boot_manifest_invalid");
  CHECK_THAT(newline.message, Catch::Contains("td.qcow2.cmdline: byte offset 17 is 0x0a"));
  test::put_boot_files(dir.path() / "td.qcow2", std::string(td::k_max_cmdline_bytes + 1, 'a'));
  CHECK_THAT(render_error(spec).message, Catch::Contains("a kernel command line has at most 2048"));
}
