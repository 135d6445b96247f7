#pragma once
// Reading a volume back with libguestfs, read-only: an independent reader
// (the guest's own kernel code for ext4) for `volume inspect` and `volume
// verify`. Secret files are reported by size only.

#include "tdxctl/core/output.hpp"
#include "tdxctl/core/runner.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace tdx::volume {

enum class VerifyKind { config, cache, containerd };

struct VolumeFileInfo {
  std::string path;
  unsigned mode = 0;
  int64_t uid = 0, gid = 0;
  int64_t size = 0;
  std::optional<std::string> content; // absent for secrets
  bool secret = false;
};

struct VolumeCheck {
  std::string id;
  bool ok = false;
  std::string message;
};

struct VolumeReport {
  std::string path;
  std::string format;
  uint64_t virtual_size = 0;
  uint64_t allocated = 0;
  std::string fs_type, label, uuid, fs_state;
  std::vector<VolumeFileInfo> files; // config volumes: the regular files at /
  std::optional<std::string> digest;  // config volumes: SHA-384 of the content manifest
  std::optional<std::string> recorded_digest; // from PATH.sha384, when present
  std::vector<VolumeCheck> checks;    // filled by verify
  std::optional<std::string> seed_problem; // "" if /miner-seed is valid; never the seed itself
  bool ok() const;
  core::Json to_json() const;
  void print(std::ostream& out) const;
};

// Opens the image read-only and reports format, sizes, filesystem and (for a
// tdx-config volume) its files. `probe` runs qemu-img info (read-only, so
// also under --dry-run). Errors: invalid_input when the file is not a
// readable disk image.
VolumeReport inspect_volume(core::ProcessRunner& probe, const std::filesystem::path& path);

// inspect_volume plus the checks the guest makes at boot (ext4, label, clean
// state) and, for config volumes, content validation (§4.4 rules, the netplan
// layout the initramfs parser needs, file modes and owners, PATH.sha384).
VolumeReport verify_volume(core::ProcessRunner& probe, const std::filesystem::path& path, VerifyKind kind,
                           const std::string& label = {});

} // namespace tdx::volume
