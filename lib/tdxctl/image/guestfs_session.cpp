// The one place that talks to libguestfs' C API. Image build, inspect and
// verify all need the same few calls (add drives, launch, open LUKS, mount,
// read/write files, run commands in the appliance); wrapping them once keeps
// error wording uniform and frees every returned buffer. The environment
// decides the backend (LIBGUESTFS_BACKEND=direct: qemu without libvirt, TCG
// when there is no /dev/kvm).
#include "tdxctl/image/guestfs_session.hpp"

#include <guestfs.h>
#include <openssl/crypto.h>

#include <cstdlib>
#include <cstring>

namespace tdx::image {

using core::Category;
using core::Failure;

std::vector<std::string> take_strings(char** list) {
  std::vector<std::string> out;
  if (!list) return out;
  for (char** p = list; *p; ++p) {
    out.emplace_back(*p);
    std::free(*p);
  }
  std::free(list);
  return out;
}

Guestfs::Guestfs() {
  m_g = guestfs_create();
  if (!m_g)
    throw Failure(Category::not_ready, "image.guestfs.create", "libguestfs cannot create a handle",
                  "install libguestfs and a kernel readable by the build user");
  // Errors come back through Failure; keep libguestfs from printing them too.
  guestfs_set_error_handler(m_g, nullptr, nullptr);
}

Guestfs::~Guestfs() {
  if (m_g) guestfs_close(m_g);
}

std::string Guestfs::last_error() const {
  const char* e = guestfs_last_error(m_g);
  return e ? e : "unknown libguestfs error";
}

int Guestfs::check(int rc, const std::string& code, const std::string& what) const {
  if (rc < 0) throw Failure(Category::failed, code, what + ": " + last_error());
  return rc;
}

void Guestfs::add_drive(const std::filesystem::path& path, bool readonly, const std::string& format) {
  check(guestfs_add_drive_opts(m_g, path.c_str(), GUESTFS_ADD_DRIVE_OPTS_FORMAT, format.c_str(),
                               GUESTFS_ADD_DRIVE_OPTS_READONLY, readonly ? 1 : 0, -1),
        "image.guestfs.add_drive", "adding " + path.string());
}

void Guestfs::launch() {
  check(guestfs_launch(m_g), "image.guestfs.launch",
        "starting the libguestfs appliance (try LIBGUESTFS_BACKEND=direct)");
}

std::vector<std::string> Guestfs::list_partitions() {
  char** list = guestfs_list_partitions(m_g);
  if (!list) check(-1, "image.guestfs.partitions", "listing partitions");
  return take_strings(list);
}

static std::string take(char* s) {
  std::string out = s ? s : "";
  std::free(s);
  return out;
}

std::string Guestfs::vfs_type(const std::string& device) {
  char* s = guestfs_vfs_type(m_g, device.c_str());
  return s ? take(s) : std::string();
}

std::string Guestfs::vfs_uuid(const std::string& device) {
  char* s = guestfs_vfs_uuid(m_g, device.c_str());
  return s ? take(s) : std::string();
}

bool Guestfs::luks_open(const std::string& device, std::string_view key, const std::string& name,
                        bool readonly) {
  std::string k(key); // the API wants a C string
  int rc = guestfs_cryptsetup_open(m_g, device.c_str(), k.c_str(), name.c_str(),
                                   GUESTFS_CRYPTSETUP_OPEN_READONLY, readonly ? 1 : 0, -1);
  OPENSSL_cleanse(k.data(), k.size());
  return rc == 0;
}

void Guestfs::luks_close(const std::string& name) {
  check(guestfs_cryptsetup_close(m_g, ("/dev/mapper/" + name).c_str()), "image.guestfs.luks_close",
        "closing /dev/mapper/" + name);
}

bool Guestfs::fsck(const std::string& fstype, const std::string& device) {
  return guestfs_fsck(m_g, fstype.c_str(), device.c_str()) == 0;
}

void Guestfs::mount(const std::string& device, const std::string& where, bool readonly) {
  int rc = readonly ? guestfs_mount_ro(m_g, device.c_str(), where.c_str())
                    : guestfs_mount(m_g, device.c_str(), where.c_str());
  check(rc, "image.guestfs.mount", "mounting " + device + " on " + where);
}

bool Guestfs::exists(const std::string& path) { return guestfs_exists(m_g, path.c_str()) == 1; }

std::string Guestfs::cat(const std::string& path) {
  size_t size = 0;
  char* s = guestfs_read_file(m_g, path.c_str(), &size);
  if (!s) check(-1, "image.guestfs.read", "reading " + path);
  std::string out(s, size);
  std::free(s);
  return out;
}

std::string Guestfs::checksum(const std::string& type, const std::string& path) {
  char* s = guestfs_checksum(m_g, type.c_str(), path.c_str());
  if (!s) check(-1, "image.guestfs.checksum", "checksumming " + path);
  return take(s);
}

std::vector<std::string> Guestfs::command(const std::vector<std::string>& argv) {
  std::vector<const char*> args;
  for (auto& a : argv) args.push_back(a.c_str());
  args.push_back(nullptr);
  char** lines = guestfs_command_lines(m_g, const_cast<char**>(args.data()));
  if (!lines) check(-1, "image.guestfs.command", "running " + argv.front() + " in the guest");
  return take_strings(lines);
}

std::string Guestfs::sh(const std::string& script) {
  char* s = guestfs_sh(m_g, script.c_str());
  if (!s) check(-1, "image.guestfs.sh", "running a customisation command in the guest");
  return take(s);
}

void Guestfs::write(const std::string& path, std::string_view content, int mode) {
  check(guestfs_write(m_g, path.c_str(), content.data(), content.size()), "image.guestfs.write",
        "writing " + path);
  check(guestfs_chmod(m_g, mode, path.c_str()), "image.guestfs.chmod", "chmod " + path);
}

void Guestfs::shutdown() {
  check(guestfs_shutdown(m_g), "image.guestfs.shutdown",
        "closing the appliance (filesystems may not be flushed)");
}

} // namespace tdx::image
