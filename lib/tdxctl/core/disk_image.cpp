// Disk image facts. qemu-img is asked rather than the header parsed here:
// it knows every format and version, and tdxctl already needs it to convert.
// Rendering a domain is the exception: it must not run programs, and only
// needs qcow2-or-raw, which the first four bytes tell.
#include "tdxctl/core/disk_image.hpp"

#include "tdxctl/core/root.hpp"

#include <nlohmann/json.hpp>

#include <fstream>
#include <sys/stat.h>

namespace tdx::core {

namespace fs = std::filesystem;

Command disk_info_command(const fs::path& path) {
  Command cmd{{"qemu-img", "info", "--output=json", "--", path.string()}};
  cmd.timeout = std::chrono::seconds(60);
  return cmd;
}

Result<DiskInfo> parse_disk_info(const std::string& json, uint64_t allocated) {
  try {
    auto doc = nlohmann::json::parse(json);
    return DiskInfo{doc.value("format", ""), doc.value("virtual-size", uint64_t{0}), allocated};
  } catch (const nlohmann::json::exception& e) {
    return fail(Category::failed, "disk.qemu_img_output",
                "qemu-img info printed unexpected output: " + std::string(e.what()));
  }
}

Result<DiskInfo> disk_info(ProcessRunner& probe, const fs::path& path) {
  auto done = probe.run(disk_info_command(path));
  if (!done) return std::unexpected(done.error());
  if (!done->ok())
    return fail(Category::invalid_input, "disk.not_an_image",
                path.string() + ": qemu-img cannot read it: " + trim(done->err));
  return parse_disk_info(done->out, allocated_bytes(path));
}

std::string sniff_disk_format(const fs::path& path, const std::string& fallback) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  if (in && in.read(magic, 4) && std::string(magic, 4) == std::string("QFI\xfb", 4)) return "qcow2";
  if (in) return "raw";
  const auto name = path.string();
  if (name.ends_with(".qcow2")) return "qcow2";
  if (name.ends_with(".raw") || name.ends_with(".img")) return "raw";
  return fallback;
}

uint64_t allocated_bytes(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

} // namespace tdx::core
