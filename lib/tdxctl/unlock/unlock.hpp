#pragma once
// `tdxctl unlock`, composed: settings, the tdx-config volume checked against
// MRCONFIGID (config_binding), identity from that volume,
// the LUKS device, an ephemeral TLS identity, key release against an
// attestation quote (configfs-tsm), activation, the containerd volume with
// the second released key (containerd_volume), and /run/chutes. The key is
// held in a Secret for as short a time as possible and wiped.

#include "tdxctl/core/output.hpp"
#include "tdxctl/core/root.hpp"
#include "tdxctl/unlock/config_binding.hpp"
#include "tdxctl/unlock/containerd_volume.hpp"
#include "tdxctl/unlock/key_release.hpp"
#include "tdxctl/unlock/luks_open.hpp"
#include "tdxctl/unlock/unlock_config.hpp"

#include <chrono>
#include <filesystem>
#include <string>

namespace tdx::unlock {

struct UnlockRequest {
  std::filesystem::path config_file = "/etc/tdxctl/unlock.conf"; // a file in the initramfs, not under --root
  std::string luks_uuid;                       // overrides TDX_LUKS_UUID
  std::string name;                            // overrides TDX_LUKS_NAME
  std::string config_dir = "/run/tdx-config";  // the mounted tdx-config volume (under --root)
  bool test_passphrase = false;
  std::string tsm_entry;                       // configfs-tsm entry; empty: a private one
  std::chrono::milliseconds device_wait{std::chrono::seconds(30)};
  SleepFn sleep;                               // the back-off between attempts (tests: no-op)
};

struct UnlockReport {
  std::string luks_uuid, name, vm_name, miner_hotkey;
  bool test_passphrase = false;
  bool changed = false;
  bool boot_token = false;
  bool containerd_key = false; // the service released one (used by the boot stages)
  std::string evidence;        // "quote", or "sample" (insecure; no TDX)
  ConfigBinding config;
  LuksOpenResult luks;
  std::optional<VolumeResult> containerd; // when unlock.conf names TDX_CONTAINERD_DISK
  std::vector<Attempt> attempts;
  std::vector<std::filesystem::path> files;
  core::Json to_json() const; // no secrets in it
};

// Throws core::Failure on any failure (the caller powers off). `runner`
// makes the containerd volume's filesystem on its first use (mke2fs).
UnlockReport run_unlock(const core::Root& root, const UnlockRequest& request, core::ProcessRunner& runner);

} // namespace tdx::unlock
