#pragma once
// What a disk image file is: its format and sizes. The one home of
// `qemu-img info` (volumes, image inspect) and of the magic-byte sniff that
// domain rendering uses, which runs no program because rendering is pure.

#include "tdxctl/core/error.hpp"
#include "tdxctl/core/runner.hpp"

#include <cstdint>
#include <filesystem>
#include <string>

namespace tdx::core {

struct DiskInfo {
  std::string format;        // "qcow2", "raw", ...
  uint64_t virtual_size = 0; // bytes the guest sees
  uint64_t allocated = 0;    // bytes allocated on the host filesystem
};

// The `qemu-img info` command for `path`, read-only: callers run it through
// their probe runner, which runs it even under --dry-run (planning reads).
Command disk_info_command(const std::filesystem::path& path);
// Runs disk_info_command through `probe`. Errors: disk.not_an_image
// (invalid_input) when qemu-img cannot read the file, disk.qemu_img_output
// (failed) when its JSON is not understood.
Result<DiskInfo> disk_info(ProcessRunner& probe, const std::filesystem::path& path);
// DiskInfo from `qemu-img info --output=json` text and the file's allocation.
Result<DiskInfo> parse_disk_info(const std::string& json, uint64_t allocated);

// "qcow2" when the file starts with the qcow2 magic "QFI\xfb", "raw" for any
// other readable file; a file not there yet is named by its extension
// (.qcow2; .raw or .img), else `fallback`.
std::string sniff_disk_format(const std::filesystem::path& path, const std::string& fallback);

// Bytes allocated to `path` on its filesystem (st_blocks), 0 if absent.
uint64_t allocated_bytes(const std::filesystem::path& path);

} // namespace tdx::core
