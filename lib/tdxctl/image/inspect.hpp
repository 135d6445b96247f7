#pragma once
// tdxctl image inspect / verify: what is in a built image, and whether its
// root opens with a key and carries the unlock path.

#include "tdxctl/core/output.hpp"
#include "tdxctl/core/runner.hpp"
#include "tdxctl/core/secret.hpp"

#include <filesystem>
#include <ostream>
#include <vector>

namespace tdx::image {

struct InspectReport {
  core::Json doc; // format, size, partitions, luks (no secrets), manifest check
  bool manifest_ok = true;
  void print(std::ostream& out) const;
};

// No key needed. Reads IMAGE.manifest.json beside the image when present and
// checks the image SHA-256 and LUKS UUID against it. `probe` runs qemu-img
// info (read-only, so also under --dry-run).
InspectReport inspect_image(const std::filesystem::path& image, core::ProcessRunner& probe);

struct VerifyCheck {
  std::string name;
  bool ok = false;
  std::string detail;
};

struct VerifyReport {
  std::vector<VerifyCheck> checks;
  bool ok() const;
  core::Json to_json() const;
  void print(std::ostream& out) const;
};

// Opens the LUKS2 root with the kernel's dm-crypt in the libguestfs
// appliance, fscks it, and checks crypttab/fstab/unlock files/initramfs.
// `probe` runs qemu-img info; nothing reaches the image.
VerifyReport verify_image(const std::filesystem::path& image, const core::Secret& key,
                          core::ProcessRunner& probe);

} // namespace tdx::image
