#pragma once
// Installing tdxctl-guest into an image so that it runs in any guest,
// including a minimal one without libcurl or libspdlog, and in the
// initramfs: the binary goes to /usr/sbin/tdxctl-guest and every shared library it
// needs beyond glibc goes to /usr/lib/tdxctl/lib, which the binary finds
// through its DT_RPATH (set at link time; see CMakeLists.txt). DT_RPATH, not
// DT_RUNPATH, because it also applies to the libraries' own dependencies
// (libcurl's), and initramfs-tools' copy_exec follows it through ldd.
#include "tdxctl/core/runner.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace tdx::image {

inline constexpr const char* guest_library_dir = "/usr/lib/tdxctl/lib"; // tdxctl-guest's DT_RPATH
inline constexpr const char* guest_binary_path = "/usr/sbin/tdxctl-guest";

// The libraries `ldd BINARY` resolves, minus glibc's own (which must match the
// guest's dynamic loader and are always there). Failure(not_ready) when ldd
// cannot resolve one on this host.
std::vector<std::filesystem::path> bundled_libraries(core::ProcessRunner& runner,
                                                     const std::filesystem::path& binary);

// The stripped binary and its libraries, copied into `input_dir` (a private
// directory the build namespace sees read-only): `tdxctl-guest` and `lib/`.
struct StagedGuestBinary {
  std::string binary;            // relative to input_dir
  std::vector<std::string> libs; // relative to input_dir
};
StagedGuestBinary stage_guest_binary(core::ProcessRunner& runner, const std::filesystem::path& binary,
                                     const std::filesystem::path& input_dir);

} // namespace tdx::image
