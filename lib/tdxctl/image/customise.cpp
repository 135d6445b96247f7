// customise_tree runs inside the build namespace, with the unpacked image as
// its root: every path it writes resolves in the image, and it runs the
// base's own tools. The one file it rewrites rather than writes (fstab) goes
// through a pure function, so that rule is tested without a namespace.
#include "tdxctl/image/customise.hpp"

#include "tdxctl/core/error.hpp"
#include "tdxctl/image/build_namespace.hpp"
#include "tdxctl/image/guest_binary.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace tdx::image {

namespace fs = std::filesystem;
using core::Category;
using core::Failure;

std::optional<std::string> rewrite_fstab_root(std::string_view fstab) {
  std::istringstream in{std::string(fstab)};
  std::string line, out;
  bool replaced = false;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string what, where;
    fields >> what >> where;
    if (!what.empty() && what[0] != '#' && where == "/") {
      out += "/dev/mapper/root\t/\text4\terrors=remount-ro\t0 1\n";
      replaced = true;
    } else {
      out += line + "\n";
    }
  }
  if (!replaced) return std::nullopt;
  return out;
}

namespace {

// Paths resolve inside the namespace's root, so a link in the image can
// only ever lead elsewhere in the image.
Failure guest_error(const std::string& path, const std::string& what) {
  return Failure(Category::failed, "image.guest.write", path + " in the image: " + what + ": " + std::strerror(errno));
}

void mkdir_p(const std::string& dir) {
  std::string at;
  std::istringstream parts(dir);
  for (std::string part; std::getline(parts, part, '/');) {
    if (part.empty()) continue;
    at += "/" + part;
    if (::mkdir(at.c_str(), 0755) != 0 && errno != EEXIST) throw guest_error(at, "cannot create the directory");
  }
}

void put(const std::string& path, std::string_view content, int mode) {
  mkdir_p(fs::path(path).parent_path().string());
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) throw guest_error(path, "cannot create");
  for (size_t done = 0; done < content.size();) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      throw guest_error(path, "cannot write");
    }
    done += static_cast<size_t>(n);
  }
  bool ok = ::fchown(fd, 0, 0) == 0 && ::fchmod(fd, static_cast<mode_t>(mode)) == 0;
  ::close(fd);
  if (!ok) throw guest_error(path, "cannot set owner and mode");
}

std::string read_input(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw guest_error(path, "cannot open the staged input");
  std::string out;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  if (n < 0) throw guest_error(path, "cannot read the staged input");
  return out;
}

void replace_fstab_root(const std::string& base_name) {
  auto fstab = rewrite_fstab_root(read_input("/etc/fstab"));
  if (!fstab)
    throw Failure(Category::invalid_input, "image.base.fstab", base_name + ": /etc/fstab has no entry for /");
  put("/etc/fstab", *fstab, 0644);
}

} // namespace

void customise_tree(const CustomiseSpec& s) {
  auto input = [&](const std::string& rel) { return s.input_dir + "/" + rel; };
  auto run = [](std::vector<std::string> argv, const std::string& what) {
    return run_inside(argv, what, "image.guest.command");
  };

  // 1. Operator files: owner first (chown clears setuid), then the mode.
  for (auto& f : s.files) {
    put(f.dest, read_input(input(f.source.string())), 0600);
    run({"chown", f.owner, f.dest}, "chown " + f.owner + " " + f.dest);
    if (::chmod(f.dest.c_str(), static_cast<mode_t>(f.mode)) != 0) throw guest_error(f.dest, "cannot chmod");
  }
  // 2. Local packages, offline, straight from the read-only staging directory.
  if (!s.debs.empty()) {
    std::vector<std::string> argv{"dpkg", "-i"};
    for (auto& d : s.debs) argv.push_back(input(d));
    run(argv, "dpkg -i");
  }
  // 3. Operator commands, in order, then units and users.
  for (auto& cmd : s.commands) run({"/bin/sh", "-c", cmd}, "the command '" + cmd + "'");
  for (auto& u : s.enable_units) run({"systemctl", "enable", u}, "systemctl enable " + u);
  for (auto& u : s.disable_units) {
    try {
      run({"systemctl", "disable", u}, "systemctl disable " + u); // a unit without [Install] only masks
    } catch (const Failure&) {
    }
    run({"systemctl", "mask", u}, "systemctl mask " + u);
  }
  for (auto& u : s.lock_users) run({"usermod", "-L", "-e", "1", "-s", "/usr/sbin/nologin", u}, "locking user " + u);
  if (s.mask_gettys) {
    try {
      run({"systemctl", "mask", "getty@tty1.service", "serial-getty@ttyS0.service"}, "masking the gettys");
    } catch (const Failure&) {
      // an image without gettys has nothing to mask
    }
  }

  // 4. What tdxctl generates: hardening, unlock path, volume units.
  for (auto& g : s.generated) put(g.path, g.content, g.mode);
  for (auto& d : s.dirs) mkdir_p(d);
  for (auto& [target, link] : s.links) {
    mkdir_p(fs::path(link).parent_path().string());
    ::unlink(link.c_str());
    if (::symlink(target.c_str(), link.c_str()) != 0) throw guest_error(link, "cannot link");
  }
  // Only the guest slice goes into the image (never the host tdxctl with
  // libvirt and libguestfs), with the libraries a minimal guest lacks.
  for (auto& lib : s.guest_libs)
    put(std::string(guest_library_dir) + "/" + fs::path(lib).filename().string(), read_input(input(lib)), 0644);
  put(guest_binary_path, read_input(input(s.guest_binary)), 0755);

  // 5. fstab: the root entry must exist and is replaced.
  replace_fstab_root(s.base_name);

  // 6. The initramfs (with the hook just installed) and, where there is one, grub.
  if (::access("/usr/sbin/update-initramfs", X_OK) != 0)
    throw Failure(Category::invalid_input, "image.base.initramfs_tools",
                  s.base_name + ": the guest has no update-initramfs",
                  "install initramfs-tools and cryptsetup-initramfs in the base image");
  run({"update-initramfs", "-u", "-k", "all"}, "update-initramfs");
  if (::access("/usr/sbin/update-grub", X_OK) == 0) run({"update-grub"}, "update-grub");
}

} // namespace tdx::image
