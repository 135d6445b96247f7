#pragma once
// Opening the LUKS root with the released key through libcryptsetup, the
// device found by its UUID under /dev/disk/by-uuid (never a fixed
// /dev/vda1). With test_only the key is checked against the header's
// keyslots and nothing is activated (cryptsetup open --test-passphrase).

#include "tdxctl/core/error.hpp"
#include "tdxctl/core/output.hpp"
#include "tdxctl/core/root.hpp"
#include "tdxctl/core/secret.hpp"

#include <chrono>
#include <filesystem>
#include <string>

namespace tdx::unlock {

struct LuksOpenRequest {
  std::string uuid;
  std::string name = "root"; // /dev/mapper/<name>
  bool test_only = false;
  std::chrono::milliseconds wait{0}; // how long to wait for udev to create the by-uuid link
};

struct LuksOpenResult {
  std::filesystem::path device; // the resolved block device (under --root)
  int keyslot = -1;
  bool activated = false;
  bool already_active = false;
  core::Json to_json() const;
};

// The device the udev link `link_abs` (/dev/disk/by-*/...) points to, resolved
// under `root`, after waiting up to `wait` for udev to create it. `what` and
// `hint` explain a missing link.
core::Result<std::filesystem::path> resolve_device_link(const core::Root& root, const std::string& link_abs,
                                                        std::chrono::milliseconds wait, const std::string& what,
                                                        const std::string& hint);

// The device /dev/disk/by-uuid/<uuid> points to, resolved under `root`.
core::Result<std::filesystem::path> device_by_uuid(const core::Root& root, const std::string& uuid,
                                                   std::chrono::milliseconds wait);

// Whether /dev/mapper/<name> is already an active mapping (a re-run).
bool mapping_active(const std::string& name);

core::Result<LuksOpenResult> open_luks(const core::Root& root, const LuksOpenRequest& request,
                                       const core::Secret& key);

} // namespace tdx::unlock
