#pragma once
// What the config and cache volumes share: the disk format, qemu-img info,
// the free-space and file-size checks done before anything is written, and
// locating text templates.

#include "tdxctl/core/error.hpp"
#include "tdxctl/core/runner.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace tdx::volume {

enum class VolumeFormat { qcow2, raw };
const char* format_name(VolumeFormat format);

struct ImageInfo {
  std::string format;         // "qcow2", "raw", ...
  uint64_t virtual_size = 0;  // bytes the guest sees
  uint64_t allocated = 0;     // bytes allocated on the host filesystem
};

// `qemu-img info --output=json`; an error when the file is not an image.
// A read-only probe: it runs qemu-img even under --dry-run (planning reads).
core::Result<ImageInfo> image_info(const std::filesystem::path& path);

// Bytes allocated to `path` on its filesystem (st_blocks), 0 if absent.
uint64_t allocated_bytes(const std::filesystem::path& path);

// Fails (not_ready) when the filesystem holding `dir` has less than `needed`
// bytes free, or (invalid_input) cannot hold a sparse file of `size` bytes.
void check_room(const std::filesystem::path& dir, uint64_t needed, uint64_t size,
                const std::string& what);

// A sparse file of `size` bytes at `path` (created or truncated), mode 0600.
void make_sparse(const std::filesystem::path& path, uint64_t size);

// "16 MiB", "5000 GiB": for messages.
std::string human_bytes(uint64_t bytes);

// The directory a target lives in ("." for a bare file name).
std::filesystem::path parent_dir(const std::filesystem::path& target);

} // namespace tdx::volume
