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

namespace tdx::guestfs {
class Guestfs;
}

namespace tdx::image {

inline constexpr const char* guest_library_dir = "/usr/lib/tdxctl/lib"; // tdxctl-guest's DT_RPATH
inline constexpr const char* guest_binary_path = "/usr/sbin/tdxctl-guest";

// The libraries `ldd BINARY` resolves, minus glibc's own (which must match the
// guest's dynamic loader and are always there). Failure(not_ready) when ldd
// cannot resolve one on this host.
std::vector<std::filesystem::path> bundled_libraries(core::ProcessRunner& runner,
                                                     const std::filesystem::path& binary);

// Uploads the stripped binary as guest_binary_path and its libraries to
// guest_library_dir; `scratch` holds the stripped copy.
void install_guest_binary(guestfs::Guestfs& g, core::ProcessRunner& runner, const std::filesystem::path& binary,
                          const std::filesystem::path& scratch);

} // namespace tdx::image
