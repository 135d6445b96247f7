// The one place that talks to libguestfs' C API. Image build, inspect and
// verify all need the same few calls (add drives, launch, open LUKS, mount,
// read/write files, run commands in the appliance); wrapping them once keeps
// error wording uniform and frees every returned buffer. The environment
// decides the backend (LIBGUESTFS_BACKEND=direct: qemu without libvirt, TCG
// when there is no /dev/kvm); launch() adds the retry under TCG for a
// /dev/kvm that exists but cannot run guests.
#include "tdxctl/guestfs/session.hpp"

#include "tdxctl/guestfs/api.hpp"

#include <guestfs.h>
#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace tdx::guestfs {

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

namespace {

// Set once a KVM launch failed and TCG worked: later handles of this process
// skip the doomed first try.
std::atomic<bool> g_force_tcg{false};
constexpr size_t k_log_keep = 256 * 1024;

void on_message(guestfs_h*, void* opaque, uint64_t, int, int, const char* buf, size_t len,
                const uint64_t*, size_t) {
  auto* log = static_cast<std::string*>(opaque);
  log->append(buf, len);
  if (!log->empty() && log->back() != '\n') log->push_back('\n');
  if (log->size() > 2 * k_log_keep) log->erase(0, log->size() - k_log_keep);
}

bool contains_any(std::string_view line, std::initializer_list<std::string_view> words) {
  for (auto w : words)
    if (line.find(w) != std::string_view::npos) return true;
  return false;
}

} // namespace

bool tcg_retry_allowed() {
  const char* settings = std::getenv("LIBGUESTFS_BACKEND_SETTINGS");
  if (settings && *settings) return false;
  const char* dev = std::getenv("TDXCTL_KVM_DEVICE");
  return ::access(dev && *dev ? dev : "/dev/kvm", F_OK) == 0;
}

std::string launch_failure_cause(std::string_view log) {
  std::string_view first_error;
  while (!log.empty()) {
    auto nl = log.find('\n');
    auto line = log.substr(0, nl);
    log = nl == std::string_view::npos ? std::string_view{} : log.substr(nl + 1);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (contains_any(line, {"kvm", "KVM", "MSR"}) && contains_any(line, {"fail", "error", "Assertion", "abort"}))
      return std::string(line);
    if (first_error.empty() && contains_any(line, {"error", "Error", "failed", "Assertion"})) first_error = line;
  }
  return std::string(first_error);
}

Guestfs::Guestfs() { open_handle(g_force_tcg.load()); }

Guestfs::~Guestfs() {
  if (m_g) guestfs::api().guestfs_close(m_g);
}

void Guestfs::open_handle(bool force_tcg) {
  if (m_g) guestfs::api().guestfs_close(m_g);
  m_g = guestfs::api().guestfs_create();
  if (!m_g)
    throw Failure(Category::not_ready, "image.guestfs.create", "libguestfs cannot create a handle",
                  "install libguestfs and a kernel readable by the build user");
  // Errors come back through Failure; keep libguestfs from printing them too.
  guestfs::api().guestfs_set_error_handler(m_g, nullptr, nullptr);
  // Keep what QEMU and the appliance said: the cause of a failed launch is
  // there, not in guestfs_last_error.
  guestfs::api().guestfs_set_event_callback(m_g, on_message,
                             GUESTFS_EVENT_APPLIANCE | GUESTFS_EVENT_LIBRARY | GUESTFS_EVENT_WARNING,
                             0, &m_log);
  if (force_tcg) {
    const char* settings[] = {"force_tcg", nullptr};
    check(guestfs::api().guestfs_set_backend_settings(m_g, const_cast<char**>(settings)), "image.guestfs.settings",
          "asking libguestfs for TCG");
  }
}

std::string Guestfs::last_error() const {
  const char* e = guestfs::api().guestfs_last_error(m_g);
  return e ? e : "unknown libguestfs error";
}

int Guestfs::check(int rc, const std::string& code, const std::string& what) const {
  if (rc < 0) throw Failure(Category::failed, code, what + ": " + last_error());
  return rc;
}

void Guestfs::add_drive(const std::filesystem::path& path, bool readonly, const std::string& format) {
  m_drives.push_back({path, readonly, format});
  add_drive_to_handle(m_drives.back());
}

void Guestfs::add_drive_to_handle(const Drive& d) {
  check(guestfs::api().guestfs_add_drive_opts(m_g, d.path.c_str(), GUESTFS_ADD_DRIVE_OPTS_FORMAT, d.format.c_str(),
                               GUESTFS_ADD_DRIVE_OPTS_READONLY, d.readonly ? 1 : 0, -1),
        "image.guestfs.add_drive", "adding " + d.path.string());
}

std::string Guestfs::save_log() const {
  std::string tmpl = (std::filesystem::temp_directory_path() / "tdxctl-appliance.XXXXXX.log").string();
  int fd = ::mkstemps(tmpl.data(), 4); // 0600, O_EXCL
  if (fd < 0) return {};
  std::string_view rest = m_log;
  while (!rest.empty()) {
    ssize_t n = ::write(fd, rest.data(), rest.size());
    if (n <= 0) break;
    rest.remove_prefix(static_cast<size_t>(n));
  }
  ::close(fd);
  return tmpl;
}

void Guestfs::launch() {
  bool tcg = g_force_tcg.load();
  if (guestfs::api().guestfs_launch(m_g) == 0) return;
  std::string first = last_error();
  std::string first_cause = launch_failure_cause(m_log);
  size_t mark = 0; // where this attempt's messages start in m_log
  std::string tried = tcg ? "TCG" : "the default accelerator (KVM when /dev/kvm opens)";
  if (!tcg && tcg_retry_allowed()) {
    spdlog::warn("the libguestfs appliance failed to start under KVM ({}); retrying under TCG, "
                 "which is slower (LIBGUESTFS_BACKEND_SETTINGS=force_tcg skips the first try)",
                 first_cause.empty() ? first : first_cause);
    open_handle(true);
    mark = m_log.size();
    for (const auto& d : m_drives) add_drive_to_handle(d);
    if (guestfs::api().guestfs_launch(m_g) == 0) {
      g_force_tcg = true;
      return;
    }
    tried = "KVM (" + (first_cause.empty() ? first : first_cause) + "), then TCG";
  }
  std::string cause = launch_failure_cause(std::string_view(m_log).substr(std::min(mark, m_log.size())));
  std::string log = save_log();
  throw Failure(Category::failed, "image.guestfs.launch",
                "the libguestfs appliance did not start; tried " + tried + ": " +
                    (cause.empty() ? last_error() : cause),
                (log.empty() ? std::string() : "appliance log: " + log + "; ") +
                    "check with `libguestfs-test-tool` (LIBGUESTFS_BACKEND=direct)");
}

std::vector<std::string> Guestfs::list_partitions() {
  char** list = guestfs::api().guestfs_list_partitions(m_g);
  if (!list) check(-1, "image.guestfs.partitions", "listing partitions");
  return take_strings(list);
}

static std::string take(char* s) {
  std::string out = s ? s : "";
  std::free(s);
  return out;
}

std::string Guestfs::vfs_type(const std::string& device) {
  char* s = guestfs::api().guestfs_vfs_type(m_g, device.c_str());
  return s ? take(s) : std::string();
}

std::string Guestfs::vfs_uuid(const std::string& device) {
  char* s = guestfs::api().guestfs_vfs_uuid(m_g, device.c_str());
  return s ? take(s) : std::string();
}

bool Guestfs::luks_open(const std::string& device, std::string_view key, const std::string& name,
                        bool readonly) {
  std::string k(key); // the API wants a C string
  int rc = guestfs::api().guestfs_cryptsetup_open(m_g, device.c_str(), k.c_str(), name.c_str(),
                                   GUESTFS_CRYPTSETUP_OPEN_READONLY, readonly ? 1 : 0, -1);
  OPENSSL_cleanse(k.data(), k.size());
  return rc == 0;
}

void Guestfs::luks_close(const std::string& name) {
  check(guestfs::api().guestfs_cryptsetup_close(m_g, ("/dev/mapper/" + name).c_str()), "image.guestfs.luks_close",
        "closing /dev/mapper/" + name);
}

bool Guestfs::fsck(const std::string& fstype, const std::string& device) {
  return guestfs::api().guestfs_fsck(m_g, fstype.c_str(), device.c_str()) == 0;
}

void Guestfs::mount(const std::string& device, const std::string& where, bool readonly) {
  int rc = readonly ? guestfs::api().guestfs_mount_ro(m_g, device.c_str(), where.c_str())
                    : guestfs::api().guestfs_mount(m_g, device.c_str(), where.c_str());
  check(rc, "image.guestfs.mount", "mounting " + device + " on " + where);
}

bool Guestfs::exists(const std::string& path) { return guestfs::api().guestfs_exists(m_g, path.c_str()) == 1; }

std::string Guestfs::cat(const std::string& path) {
  size_t size = 0;
  char* s = guestfs::api().guestfs_read_file(m_g, path.c_str(), &size);
  if (!s) check(-1, "image.guestfs.read", "reading " + path);
  std::string out(s, size);
  std::free(s);
  return out;
}

std::string Guestfs::checksum(const std::string& type, const std::string& path) {
  char* s = guestfs::api().guestfs_checksum(m_g, type.c_str(), path.c_str());
  if (!s) check(-1, "image.guestfs.checksum", "checksumming " + path);
  return take(s);
}

std::vector<std::string> Guestfs::command(const std::vector<std::string>& argv) {
  std::vector<const char*> args;
  for (auto& a : argv) args.push_back(a.c_str());
  args.push_back(nullptr);
  char** lines = guestfs::api().guestfs_command_lines(m_g, const_cast<char**>(args.data()));
  if (!lines) check(-1, "image.guestfs.command", "running " + argv.front() + " in the guest");
  return take_strings(lines);
}

std::string Guestfs::sh(const std::string& script) {
  char* s = guestfs::api().guestfs_sh(m_g, script.c_str());
  if (!s) check(-1, "image.guestfs.sh", "running a customisation command in the guest");
  return take(s);
}

void Guestfs::write(const std::string& path, std::string_view content, int mode) {
  check(guestfs::api().guestfs_write(m_g, path.c_str(), content.data(), content.size()), "image.guestfs.write",
        "writing " + path);
  check(guestfs::api().guestfs_chmod(m_g, mode, path.c_str()), "image.guestfs.chmod", "chmod " + path);
}

void Guestfs::shutdown() {
  check(guestfs::api().guestfs_shutdown(m_g), "image.guestfs.shutdown",
        "closing the appliance (filesystems may not be flushed)");
}

} // namespace tdx::guestfs
