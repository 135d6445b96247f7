#pragma once
// The containerd volume: a second disk the TD encrypts itself, with a second
// key the key service releases with the root key (issue 14 item 8). It is
// found by the serial the host gives the disk (the domain's <serial>, seen in
// the guest as /dev/disk/by-id/virtio-<serial>), never by a label: a label is
// data on the disk, and the host writes the disk.
//
// First use: only a device with no signature of any kind (libblkid finds no
// filesystem, RAID member, LUKS header or partition table, and its first and
// last MiB are zeros) is LUKS2-formatted and gets an ext4 filesystem.
// Later boots: the LUKS2 header is opened with the key. Anything else (a
// filesystem, a partition table, LUKS that the key does not open) is refused,
// and the premount script powers the TD off.

#include "tdxctl/core/error.hpp"
#include "tdxctl/core/output.hpp"
#include "tdxctl/core/root.hpp"
#include "tdxctl/core/runner.hpp"
#include "tdxctl/core/secret.hpp"

#include <chrono>
#include <filesystem>
#include <string>

namespace tdx::unlock {

// The released key is used as is (PBKDF2, minimal iterations): it is a random
// secret from the key service, not a passphrase, so it must be long enough
// that stretching would add nothing.
inline constexpr size_t k_min_volume_key_bytes = 32;

struct VolumeRequest {
  std::string disk_serial;           // the host's <serial>, e.g. td-containerd
  std::string name;                  // /dev/mapper/<name>; also the LUKS2 and ext4 label it formats
  std::chrono::milliseconds wait{0}; // for udev to create /dev/disk/by-id/virtio-<serial>
  // --test-passphrase: decide and check the key, write and activate nothing
  // (a blank disk is reported as would_format).
  bool test_only = false;
};

struct VolumeResult {
  std::filesystem::path device; // the resolved block device (under --root)
  std::string luks_uuid;
  bool formatted = false;       // LUKS2 header written now (first use)
  bool filesystem_created = false;
  bool activated = false;
  bool already_active = false;
  bool would_format = false;    // test_only on a blank disk
  int keyslot = -1;
  core::Json to_json() const;
};

// What a block device (or file) holds, as the first-use rule sees it.
struct DeviceContent {
  enum Kind { empty, luks, other } kind = other;
  std::string detail; // "crypto_LUKS", "ext4", "gpt", "non-zero bytes in the first MiB"...
};
core::Result<DeviceContent> probe_device_content(const std::filesystem::path& device);

// The device link for a disk serial: /dev/disk/by-id/virtio-<serial>.
std::string disk_by_serial(const std::string& serial);
// A serial as the host may set it (1-20 of A-Z a-z 0-9 _ - ., virtio-blk's limit).
core::Result<void> check_disk_serial(std::string_view serial);

// The first-use header on a blank `device`: LUKS2 (aes-xts-plain64, 512-bit
// volume key, 4096-byte sectors), `key` in one PBKDF2 keyslot, no label yet.
// Returns the new LUKS UUID. Checks nothing: open_encrypted_volume decides.
core::Result<std::string> format_encrypted_volume(const std::filesystem::path& device, const core::Secret& key);

// Opens (or, on first use, formats and opens) the volume as /dev/mapper/<name>.
// mke2fs runs through `runner`; the key never leaves this process.
core::Result<VolumeResult> open_encrypted_volume(const core::Root& root, const VolumeRequest& request,
                                                 const core::Secret& key, core::ProcessRunner& runner);

} // namespace tdx::unlock
