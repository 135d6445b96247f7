#pragma once
// A libguestfs handle with RAII, errors turned into Failure, and the string
// lists of the C API turned into vectors. The appliance runs the real Linux
// kernel (dm-crypt, ext4, vfat), so nothing here needs root or host mounts.
// Every libguestfs user in tdxctl (image build/inspect/verify, volume
// inspect/verify, td preflight) goes through this one class, so the KVM ->
// TCG fallback and the appliance log behave the same everywhere.

#include "tdxctl/core/error.hpp"

#include <filesystem>
#include <string>
#include <vector>

struct guestfs_h;

namespace tdx::guestfs {

class Guestfs {
public:
  Guestfs(); // Failure when libguestfs cannot create a handle
  ~Guestfs();
  Guestfs(const Guestfs&) = delete;
  Guestfs& operator=(const Guestfs&) = delete;

  guestfs_h* get() const { return m_g; }
  void add_drive(const std::filesystem::path& path, bool readonly, const std::string& format = "raw");
  // Starts the appliance. When it fails, /dev/kvm exists and the user left
  // LIBGUESTFS_BACKEND_SETTINGS unset, it warns with the cause and retries
  // once under TCG (a /dev/kvm that cannot run guests is common on nested
  // VMs and CI runners); the rest of the process then goes straight to TCG.
  // A final failure names both attempts and the saved appliance log.
  void launch();

  // Throws Failure(code) naming `what` and libguestfs' last error when rc < 0.
  int check(int rc, const std::string& code, const std::string& what) const;
  std::string last_error() const;

  std::vector<std::string> list_partitions();
  std::string vfs_type(const std::string& device);
  std::string vfs_uuid(const std::string& device);
  // Opens a LUKS device as /dev/mapper/<name>; the key travels over the
  // libguestfs channel, never through argv or logs. Returns false when the
  // key does not open it.
  bool luks_open(const std::string& device, std::string_view key, const std::string& name,
                 bool readonly);
  void luks_close(const std::string& name);
  // fsck of an unmounted filesystem in the appliance; true when clean.
  bool fsck(const std::string& fstype, const std::string& device);
  void mount(const std::string& device, const std::string& where, bool readonly);
  bool exists(const std::string& path);
  std::string cat(const std::string& path);
  std::string checksum(const std::string& type, const std::string& path);
  std::vector<std::string> command(const std::vector<std::string>& argv);
  std::string sh(const std::string& script);
  void write(const std::string& path, std::string_view content, int mode);
  void shutdown();

private:
  struct Drive {
    std::filesystem::path path;
    bool readonly;
    std::string format;
  };
  void open_handle(bool force_tcg);
  void add_drive_to_handle(const Drive& d);
  std::string save_log() const;

  guestfs_h* m_g = nullptr;
  std::vector<Drive> m_drives;
  std::string m_log; // appliance and library messages, the newest kept
};

// Whether a retry under TCG may help: the KVM device exists (the
// TDXCTL_KVM_DEVICE environment variable names another path, for tests) and
// the user chose no backend settings.
bool tcg_retry_allowed();
// The line of an appliance log that best names why QEMU stopped (a KVM or
// MSR message, else the first error), or "" when none does.
std::string launch_failure_cause(std::string_view log);

// Frees a NULL-terminated string list from libguestfs into a vector.
std::vector<std::string> take_strings(char** list);

} // namespace tdx::guestfs
