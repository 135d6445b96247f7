#include "tdxctl/image/guest_binary.hpp"

#include "tdxctl/core/error.hpp"

#include <algorithm>
#include <array>
#include <sstream>

namespace tdx::image {

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

StagedGuestBinary stage_guest_binary(core::ProcessRunner& runner, const fs::path& binary, const fs::path& input_dir) {
  StagedGuestBinary staged;
  fs::create_directories(input_dir / "lib");
  for (auto& lib : bundled_libraries(runner, binary)) {
    auto name = "lib/" + lib.filename().string();
    fs::copy_file(lib, input_dir / name, fs::copy_options::overwrite_existing);
    staged.libs.push_back(name);
  }
  // The initramfs carries this binary: without debug info it is a fraction of the size.
  staged.binary = "tdxctl-guest";
  auto stripped = input_dir / staged.binary;
  auto done = runner.run({{"strip", "--strip-debug", "-o", stripped.string(), binary.string()}});
  if (!done || !done->ok()) fs::copy_file(binary, stripped, fs::copy_options::overwrite_existing);
  return staged;
}

} // namespace tdx::image
