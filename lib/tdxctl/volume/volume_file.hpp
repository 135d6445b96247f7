#pragma once
// What the config and cache volumes share: the disk format, the free-space
// and file-size checks done before anything is written, and the qcow2
// conversion.

#include "tdxctl/core/error.hpp"
#include "tdxctl/core/runner.hpp"

#include <cstdint>
#include <filesystem>
#include <string>

namespace tdx::volume {

enum class VolumeFormat { qcow2, raw };
const char* format_name(VolumeFormat format);

// Fails (not_ready) when the filesystem holding `dir` has less than `needed`
// bytes free, or (invalid_input) cannot hold a sparse file of `size` bytes.
void check_room(const std::filesystem::path& dir, uint64_t needed, uint64_t size,
                const std::string& what);

// The qemu-img convert from the raw filesystem image `raw` to a thin qcow2
// at `qcow2` (holes stay unallocated). Spelled once: a step shows it with
// placeholder paths as its detail and runs it with the real ones.
core::Command qcow2_convert_command(const std::filesystem::path& raw, const std::filesystem::path& qcow2,
                                    std::chrono::milliseconds timeout);

// "16 MiB", "5000 GiB": for messages.
std::string human_bytes(uint64_t bytes);

// The directory a target lives in ("." for a bare file name).
std::filesystem::path parent_dir(const std::filesystem::path& target);

} // namespace tdx::volume
