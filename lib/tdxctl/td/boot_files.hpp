#pragma once
// Direct kernel boot: the kernel, initrd and command line `tdxctl image build`
// writes beside the image, as its manifest (IMAGE.manifest.json, key
// boot_files) names them with their SHA-384. Measurement tooling for TDX
// predicts RTMR1/RTMR2 from exactly these three inputs, so the TD boots them
// by default (td.boot: direct), and `td launch` refuses any that changed.

#include "tdxctl/core/error.hpp"
#include "tdxctl/core/output.hpp"

#include <filesystem>
#include <string>

namespace tdx::td {

// x86's COMMAND_LINE_SIZE: the kernel truncates anything longer.
inline constexpr size_t k_max_cmdline_bytes = 2048;

struct BootFile {
  std::string file;           // the manifest's name for it: a plain file name
  std::filesystem::path path; // absolute: the manifest's directory / file
  std::string sha384;         // hex, lower case, as the manifest records it
};

struct DirectBoot {
  std::filesystem::path manifest;
  BootFile kernel, initrd, cmdline_file;
  std::string cmdline; // the command line file's bytes, already checked against its digest
  core::Json to_json() const;
};

// SHA-384 (hex) of what remains to be read from `fd`, streamed; `what` names
// it in a read error.
core::Result<std::string> sha384_of_fd(int fd, const std::string& what);

// IMAGE.manifest.json, beside the image.
std::filesystem::path image_manifest_path(const std::string& image);

// Reads boot_files from the image's manifest and the command line file.
// Every file is opened through the manifest's directory, by a plain name
// (no '/', no leading '.'), with O_NOFOLLOW, and must be a regular file; the
// manifest must not be writable by group or others nor owned by another user.
// Errors (all naming the file, and the key for a bad entry):
// td.boot_manifest_missing / td.boot_files_missing (not_ready: rebuild the
// image, or set td.boot: firmware), td.boot_manifest_invalid,
// td.boot_file_unsafe (invalid_input), td.boot_file_missing (not_ready),
// td.boot_file_mismatch (not_ready) for a command line whose bytes changed.
core::Result<DirectBoot> read_direct_boot(const std::string& image);

// Hashes the kernel and initrd (the command line was checked when read) and
// compares each with the manifest: td.boot_file_mismatch (not_ready) names
// the file, both digests and what to do.
core::Result<void> verify_direct_boot(const DirectBoot& boot);

} // namespace tdx::td
