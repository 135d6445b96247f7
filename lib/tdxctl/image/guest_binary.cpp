#include "tdxctl/image/guest_binary.hpp"

#include "tdxctl/core/error.hpp"
#include "tdxctl/guestfs/session.hpp"

#include <guestfs.h>

#include <algorithm>
#include <array>
#include <sstream>

namespace tdx::image {

using guestfs::Guestfs;
using guestfs::take_strings;

namespace fs = std::filesystem;
using core::Category;
using core::Failure;

namespace {

// glibc's libraries: they come with the guest's own loader and must match it.
bool is_glibc(const std::string& soname) {
  static constexpr std::array<std::string_view, 10> names{
      "libc.so.", "libm.so.", "libpthread.so.", "libdl.so.", "librt.so.", "libresolv.so.",
      "libanl.so.", "libutil.so.", "ld-linux", "libnss_"};
  return std::any_of(names.begin(), names.end(), [&](std::string_view n) { return soname.rfind(n, 0) == 0; });
}

} // namespace

std::vector<fs::path> bundled_libraries(core::ProcessRunner& runner, const fs::path& binary) {
  auto r = runner.run({{"ldd", binary.string()}});
  if (!r || !r->ok())
    throw Failure(Category::not_ready, "image.ldd", "ldd " + binary.string() + " failed: " +
                                                        (r ? r->err : r.error().message));
  // Lines: "\tlibcurl.so.4 => /lib/x86_64-linux-gnu/libcurl.so.4 (0x...)".
  std::vector<fs::path> libs;
  std::istringstream lines(r->out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string soname, arrow, path;
    words >> soname >> arrow >> path;
    if (arrow != "=>" || is_glibc(soname)) continue;
    if (path == "not")
      throw Failure(Category::not_ready, "image.ldd", binary.string() + " needs " + soname +
                                                          ", which this host cannot resolve");
    libs.emplace_back(path);
  }
  return libs;
}

void install_guest_binary(Guestfs& g, core::ProcessRunner& runner, const fs::path& binary,
                          const fs::path& scratch) {
  auto libs = bundled_libraries(runner, binary);
  g.check(guestfs_mkdir_p(g.get(), guest_library_dir), "image.guest.mkdir", std::string("mkdir ") + guest_library_dir);
  for (auto& lib : libs) {
    auto dest = std::string(guest_library_dir) + "/" + lib.filename().string();
    g.check(guestfs_upload(g.get(), lib.c_str(), dest.c_str()), "image.guest.upload", "installing " + dest);
    g.check(guestfs_chmod(g.get(), 0644, dest.c_str()), "image.guest.chmod", "chmod " + dest);
  }
  g.check(guestfs_mkdir_p(g.get(), "/usr/sbin"), "image.guest.mkdir", "mkdir /usr/sbin");
  // The initramfs carries this binary: without debug info it is a fraction of the size.
  auto stripped = scratch / "tdxctl-guest";
  auto done = runner.run({{"strip", "--strip-debug", "-o", stripped.string(), binary.string()}});
  auto source = (done && done->ok()) ? stripped : binary;
  g.check(guestfs_upload(g.get(), source.c_str(), guest_binary_path), "image.guest.upload",
          "installing tdxctl-guest into the image");
  g.check(guestfs_chmod(g.get(), 0755, guest_binary_path), "image.guest.chmod",
          std::string("chmod ") + guest_binary_path);
}

} // namespace tdx::image
