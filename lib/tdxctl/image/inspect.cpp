// Reading a built image back without trusting the build: the partition table
// and the LUKS2 header come from the image itself (libguestfs read-only, the
// header parsed by libcryptsetup), the manifest is only compared against
// them. verify goes further and decrypts with the kernel's dm-crypt, so a
// mistake in the userspace encryption path cannot hide behind our own code.
#include "tdxctl/image/inspect.hpp"

#include "tdxctl/guestfs/api.hpp"
#include "tdxctl/core/disk_image.hpp"
#include "tdxctl/core/fs.hpp"
#include "tdxctl/image/build.hpp"
#include "tdxctl/guestfs/session.hpp"
#include "tdxctl/image/luks_writer.hpp"

#include <guestfs.h>

#include <algorithm>
#include <array>

namespace tdx::image {

using guestfs::Guestfs;
using guestfs::take_strings;

namespace fs = std::filesystem;

namespace {

std::string image_format(const fs::path& image, core::ProcessRunner& probe) {
  auto format = core::value_or_throw(core::disk_info(probe, image)).format;
  return format.empty() ? "raw" : format;
}

std::string find_luks(Guestfs& g) {
  for (auto& p : g.list_partitions())
    if (g.vfs_type(p) == "crypto_LUKS") return p;
  throw core::Failure(core::Category::invalid_input, "image.no_luks", "no LUKS partition in the image",
                "is this an image made by tdxctl image build?");
}

} // namespace

void InspectReport::print(std::ostream& out) const {
  out << "image:  " << doc["image"].get<std::string>() << " (" << doc["format"].get<std::string>() << ", "
      << doc["virtual_size"].get<uint64_t>() << " bytes)\n";
  core::Table t({"PARTITION", "NAME", "FS", "SIZE"});
  for (auto& p : doc["partitions"])
    t.row({p["device"], p["name"], p["filesystem"], std::to_string(p["size"].get<uint64_t>())});
  t.print(out);
  if (doc.contains("luks")) {
    auto& l = doc["luks"];
    out << "luks:   " << l["uuid"].get<std::string>() << " " << l["cipher"].get<std::string>() << " "
        << l["key_bits"] << "-bit, " << l["sector_size"] << "-byte sectors, " << l["keyslots"].size()
        << " keyslot(s)\n";
  }
  out << "manifest: " << doc["manifest"]["status"].get<std::string>() << "\n";
}

InspectReport inspect_image(const fs::path& image, core::ProcessRunner& probe) {
  if (!fs::is_regular_file(image))
    throw core::Failure(core::Category::invalid_input, "image.missing", image.string() + ": no such image");
  InspectReport r;
  auto format = image_format(image, probe);
  Guestfs g;
  g.add_drive(image, true, format);
  g.launch();
  r.doc["image"] = image.string();
  r.doc["format"] = format;
  r.doc["virtual_size"] = guestfs::api().guestfs_blockdev_getsize64(g.get(), "/dev/sda");
  core::Json parts = core::Json::array();
  for (auto& p : g.list_partitions()) {
    int n = guestfs::api().guestfs_part_to_partnum(g.get(), p.c_str());
    char* name = guestfs::api().guestfs_part_get_name(g.get(), "/dev/sda", n);
    parts.push_back({{"device", p},
                     {"name", name ? name : ""},
                     {"filesystem", g.vfs_type(p)},
                     {"uuid", g.vfs_uuid(p)},
                     {"size", guestfs::api().guestfs_blockdev_getsize64(g.get(), p.c_str())}});
    std::free(name);
  }
  r.doc["partitions"] = parts;
  std::string luks_dev = find_luks(g);
  core::TempDir tmp;
  auto header = tmp / "luks-header";
  // The LUKS2 metadata and keyslot area: what libcryptsetup needs to parse it.
  g.check(guestfs::api().guestfs_download_offset(g.get(), luks_dev.c_str(), header.c_str(), 0, 16 << 20),
          "image.inspect.header", "reading the LUKS2 header");
  r.doc["luks"] = core::value_or_throw(read_luks_header(header));
  r.doc["luks"]["device"] = luks_dev;
  g.shutdown();

  fs::path manifest_path = image.string() + ".manifest.json";
  core::Json check{{"path", manifest_path.string()}};
  auto text = core::read_file(manifest_path);
  if (!text) {
    check["status"] = "absent";
  } else {
    try {
      auto m = core::Json::parse(*text);
      auto sha = core::value_or_throw(file_digest(image, "SHA256"));
      std::vector<std::string> problems;
      if (m.value("image_sha256", "") != sha) problems.push_back("image SHA-256 differs from the manifest");
      if (m["luks"].value("uuid", "") != r.doc["luks"]["uuid"]) problems.push_back("LUKS UUID differs from the manifest");
      check["image_sha256"] = sha;
      check["kernel_cmdline"] = m.value("kernel_cmdline", "");
      check["problems"] = problems;
      check["status"] = problems.empty() ? "ok" : "mismatch";
      r.manifest_ok = problems.empty();
    } catch (const core::Json::exception& e) {
      check["status"] = "invalid";
      check["problems"] = {std::string("not JSON: ") + e.what()};
      r.manifest_ok = false;
    }
  }
  r.doc["manifest"] = check;
  return r;
}

bool VerifyReport::ok() const {
  return std::all_of(checks.begin(), checks.end(), [](auto& c) { return c.ok; });
}

core::Json VerifyReport::to_json() const {
  core::Json list = core::Json::array();
  for (auto& c : checks) list.push_back({{"name", c.name}, {"ok", c.ok}, {"detail", c.detail}});
  return {{"ok", ok()}, {"checks", list}};
}

void VerifyReport::print(std::ostream& out) const {
  for (auto& c : checks) out << (c.ok ? "ok    " : "FAIL  ") << c.name << (c.detail.empty() ? "" : ": " + c.detail) << "\n";
  out << (ok() ? "image verified\n" : "image verification FAILED\n");
}

namespace {

// The unlock client must start inside the initramfs, with only the libraries
// the hook copied in: unpack the archive with the guest's own initramfs-tools
// and run it there. A binary whose libraries the guest lacks fails here, not
// at the TD's first boot.
VerifyCheck initramfs_runs_tdxctl(Guestfs& g, const std::string& initrd) {
  std::string script = "d=/tmp/tdxctl-verify-initramfs; rm -rf $d; mkdir -p $d && unmkinitramfs '" + initrd +
                       "' $d || { echo 'unmkinitramfs failed'; exit 0; }; r=$d; [ ! -d $d/main ] || r=$d/main; "
                       "out=$(chroot $r /sbin/tdxctl-guest --version 2>&1); echo \"exit=$? $out\" | head -c 400";
  char* raw = guestfs::api().guestfs_sh(g.get(), script.c_str());
  if (!raw) return {"initramfs.tdxctl-guest", false, "could not unpack " + initrd + ": " + g.last_error()};
  std::string out(raw);
  std::free(raw);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  for (auto& c : out)
    if (c == '\n') c = ' ';
  if (out.rfind("exit=0 ", 0) == 0)
    return {"initramfs.tdxctl-guest", true, "/sbin/tdxctl-guest runs inside the initramfs (" + out.substr(7) + ")"};
  return {"initramfs.tdxctl-guest", false, "/sbin/tdxctl-guest does not run inside " + initrd + ": " + out};
}

} // namespace

VerifyReport verify_image(const fs::path& image, const core::Secret& key, core::ProcessRunner& probe) {
  if (!fs::is_regular_file(image))
    throw core::Failure(core::Category::invalid_input, "image.missing", image.string() + ": no such image");
  auto format = image_format(image, probe);
  VerifyReport r;
  Guestfs g;
  g.add_drive(image, true, format);
  g.launch();
  auto luks_dev = find_luks(g);
  auto uuid = g.vfs_uuid(luks_dev);
  // Mapped read-write so fsck can run: the drive itself is read-only (libguestfs
  // puts a throwaway overlay over it), so nothing reaches the image.
  bool opened = g.luks_open(luks_dev, key.reveal(), "root", false);
  r.checks.push_back({"luks.open", opened, opened ? luks_dev + " (UUID " + uuid + ")" : "the key does not open " + luks_dev});
  if (!opened) return r;
  bool fsck = g.fsck("ext4", "/dev/mapper/root");
  r.checks.push_back({"root.fsck", fsck, fsck ? "clean ext4" : "fsck reports errors: " + g.last_error()});
  // Read-write mounts land in libguestfs' throwaway overlay (the drive is
  // added read-only): the initramfs check below unpacks into the guest's /tmp.
  g.mount("/dev/mapper/root", "/", false);
  for (auto& p : g.list_partitions())
    if (p != luks_dev && g.vfs_type(p) == "ext4") g.mount(p, "/boot", true);

  auto has = [&](const std::string& path, const std::string& needle) {
    if (!g.exists(path)) return false;
    return g.cat(path).find(needle) != std::string::npos;
  };
  r.checks.push_back({"crypttab", has("/etc/crypttab", "UUID=" + uuid), "/etc/crypttab names UUID=" + uuid});
  r.checks.push_back({"fstab", has("/etc/fstab", "/dev/mapper/root\t/\t"), "/ is /dev/mapper/root"});
  r.checks.push_back({"unlock.conf", has("/etc/tdxctl/unlock.conf", "TDX_LUKS_UUID=" + uuid), "/etc/tdxctl/unlock.conf"});
  r.checks.push_back({"unlock.script", g.exists("/etc/initramfs-tools/scripts/init-premount/tdxctl-unlock"),
                      "init-premount/tdxctl-unlock"});
  r.checks.push_back({"initramfs.hook", g.exists("/etc/initramfs-tools/hooks/tdxctl"), "hooks/tdxctl"});
  r.checks.push_back({"tdxctl-guest", g.exists("/usr/sbin/tdxctl-guest"), "/usr/sbin/tdxctl-guest"});
  // What the hook put into the initramfs, read from the archive itself.
  std::string initrd;
  for (auto& f : take_strings(guestfs::api().guestfs_ls(g.get(), "/boot")))
    if (f.rfind("initrd.img-", 0) == 0) initrd = "/boot/" + f;
  bool in_initrd = false;
  std::string detail = "no /boot/initrd.img-*";
  if (!initrd.empty()) {
    // libguestfs lists gzip'd archives itself; for zstd or a microcode
    // prefix the guest's own lsinitramfs (initramfs-tools) reads it.
    char** listed = guestfs::api().guestfs_initrd_list(g.get(), initrd.c_str());
    std::vector<std::string> files;
    if (listed) {
      files = take_strings(listed);
    } else if (g.exists("/usr/bin/lsinitramfs")) {
      std::array<const char*, 3> ls_argv{"lsinitramfs", initrd.c_str(), nullptr};
      files = take_strings(guestfs::api().guestfs_command_lines(g.get(), const_cast<char**>(ls_argv.data())));
      for (auto& f : files)
        if (f.rfind("./", 0) == 0) f = f.substr(2);
    }
    auto contains = [&](const std::string& f) { return std::find(files.begin(), files.end(), f) != files.end(); };
    // copy_exec to /sbin lands in usr/sbin when the initramfs has merged /usr.
    in_initrd = contains("scripts/init-premount/tdxctl-unlock") && contains("etc/tdxctl/unlock.conf") &&
                (contains("sbin/tdxctl-guest") || contains("usr/sbin/tdxctl-guest"));
    detail = initrd + (in_initrd ? " carries the unlock script, config and tdxctl-guest"
                                 : " lacks the unlock script, config or tdxctl-guest");
  }
  r.checks.push_back({"initramfs.contents", in_initrd, detail});
  if (in_initrd && g.exists("/usr/bin/unmkinitramfs")) r.checks.push_back(initramfs_runs_tdxctl(g, initrd));
  g.shutdown();
  return r;
}

} // namespace tdx::image
