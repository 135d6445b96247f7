// Cache volumes in about a second whatever their size: a sparse raw file,
// mke2fs with -O sparse_super2 and packed_meta_blocks so every metadata
// block sits at the start of the disk, lazy inode table and journal init and
// no discard (nothing to zero, and the guest kernel finishes the inode tables
// in the background), then qemu-img convert, which skips the holes. Measured:
// 5000G allocates 13 MiB raw / 14 MiB qcow2 (68 / 373 MiB with defaults).
#include "tdxctl/volume/cache_volume.hpp"

#include "tdxctl/core/disk_image.hpp"
#include "tdxctl/core/root.hpp"
#include "tdxctl/core/units.hpp"

#include <cctype>
#include <sstream>
#include <unistd.h>

namespace tdx::volume {

namespace fs = std::filesystem;
using core::Category;
using core::Failure;

core::Result<uint64_t> parse_size(std::string_view text) {
  auto bad = [&] {
    return core::fail(Category::invalid_input, "volume.size",
                      "size '" + std::string(text) +
                          "' is not understood; expected a number with K, M, G or T "
                          "(powers of 1024), e.g. 5000G");
  };
  auto size = core::parse_size(text);
  if (!size) return bad();
  return *size;
}

core::Result<std::string> check_label(std::string_view label) {
  if (label.empty() || label.size() > 16)
    return core::fail(Category::invalid_input, "volume.label",
                      "label '" + std::string(label) + "' is " + std::to_string(label.size()) +
                          " bytes; an ext4 label holds 1 to 16 bytes");
  for (char c : label)
    if (std::iscntrl(static_cast<unsigned char>(c)) || c == '/' || c == ' ')
      return core::fail(Category::invalid_input, "volume.label",
                        "label '" + std::string(label) +
                            "' contains a space, '/' or a control character");
  return std::string(label);
}

uint64_t cache_space_needed(uint64_t size, VolumeFormat format) {
  uint64_t raw = (16ull << 20) + size / (1u << 18); // measured 13 MiB at 5000G; ~2x margin
  return format == VolumeFormat::qcow2 ? 2 * raw + size / (1u << 20) : raw;
}

core::Command cache_mkfs_command(const std::string& label, const fs::path& raw) {
  // -m 0: a data volume needs no blocks reserved for root (5% of 5000G is 250G).
  core::Command cmd{{"mke2fs", "-q", "-F", "-t", "ext4", "-L", label, "-m", "0",
                     "-O", "sparse_super2",
                     "-E", "packed_meta_blocks=1,lazy_itable_init=1,lazy_journal_init=1,nodiscard",
                     raw.string()}};
  cmd.timeout = std::chrono::minutes(5);
  return cmd;
}

std::optional<std::string> quick_label(core::ProcessRunner& probe, const fs::path& image,
                                       const std::string& format) {
  core::TempDir tmp(parent_dir(image), "." + image.filename().string() + ".probe");
  auto head = tmp / "head.raw";
  // The ext4 superblock is at 1 KiB; 64 KiB covers it for blkid.
  core::Command dd{{"qemu-img", "dd", "-f", format, "-O", "raw", "bs=65536", "count=1",
                    "if=" + image.string(), "of=" + head.string()}};
  dd.timeout = std::chrono::seconds(30);
  auto r = probe.run(dd);
  if (!r || !r->ok()) return std::nullopt;
  core::Command blkid{{"blkid", "-p", "-s", "LABEL", "-o", "value", head.string()}};
  blkid.timeout = std::chrono::seconds(30);
  auto b = probe.run(blkid);
  if (!b || !b->ok()) return std::nullopt;
  return core::trim(b->out);
}

namespace {
// qemu-img convert skips the holes: seconds even for 5000G.
constexpr std::chrono::minutes k_convert_timeout{5};

struct CacheBuild {
  std::optional<core::TempDir> work; // removed with the raw copy, on a signal too
  std::optional<core::AtomicFile> out;
  fs::path raw;
};
} // namespace

CacheVolumePlan plan_cache_volume(const CacheVolumeRequest& request, core::ProcessRunner& probe,
                                  core::ProcessRunner& effects) {
  bool containerd = request.kind == CacheKind::containerd;
  std::vector<std::string> errors;
  auto size_text = request.size.empty() ? std::string(containerd ? k_containerd_default_size : k_cache_default_size) : request.size;
  auto size = parse_size(size_text);
  if (!size) errors.push_back("--size: " + size.error().message);
  else if (*size < (64ull << 20))
    errors.push_back("--size: " + size_text + " is too small; a cache volume needs at least 64M");
  else if (*size % 4096 != 0)
    errors.push_back("--size: " + size_text + " is not a multiple of 4 KiB (the block size)");
  // The containerd volume stays blank: the guest formats it (LUKS2 + ext4)
  // only when it finds no signature at all, so it carries no label.
  if (containerd && !request.label.empty())
    errors.push_back("--label: the containerd volume is blank (the TD encrypts it on first boot); it has no label");
  auto label_text = request.label.empty() ? std::string(containerd ? "" : "tdx-cache") : request.label;
  auto label = containerd ? core::Result<std::string>(std::string()) : check_label(label_text);
  if (!label) errors.push_back("--label: " + label.error().message);
  if (!errors.empty()) {
    std::string message = "invalid cache volume request:";
    for (const auto& e : errors) message += "\n  " + e;
    throw Failure(Category::invalid_input, "volume.cache.invalid", message,
                  "see 'tdxctl volume cache create --help'");
  }

  CacheVolumePlan result;
  result.label = *label;
  result.size = *size;
  const fs::path output = request.output;
  const auto format = request.format;
  std::error_code ec;
  bool unchanged = false;
  if (fs::exists(fs::symlink_status(output, ec))) {
    auto info = core::disk_info(probe, output);
    // A containerd volume in use holds the TD's LUKS2 volume: never inspected, never recreated.
    unchanged = info && info->format == format_name(format) && info->virtual_size == *size &&
                (containerd || quick_label(probe, output, info->format) == *label);
    if (!unchanged) core::refuse_existing(output, request.force);
  }
  auto dir = parent_dir(output);
  auto needed = cache_space_needed(*size, format);
  if (!unchanged) check_room(dir, needed, *size, "a " + size_text + " cache volume");
  auto done = [unchanged] { return unchanged; };
  auto build = std::make_shared<CacheBuild>();
  auto& plan = result.plan;
  plan.add({"volume.cache.mkfs", "command",
            containerd ? "create a blank sparse " + size_text + " disk (the TD formats it on first boot)"
                       : "create a sparse " + size_text + " disk and an ext4 filesystem labelled " + *label +
                             " with its metadata packed at the start (needs " + human_bytes(needed) + " free)",
            {{"argv", containerd ? core::Json() : core::Json(cache_mkfs_command(*label, "$WORK/volume.raw").argv)},
             {"size_bytes", *size},
             {"space_needed_bytes", needed}},
            done,
            [build, dir, output, format, force = request.force, label = *label, size = *size, containerd,
             &effects] {
              if (format == VolumeFormat::raw) {
                build->out.emplace(output, 0644, force);
                core::make_sparse(build->out->fd(), size, build->out->temp_path());
                build->out->close_fd();
                build->raw = build->out->temp_path();
              } else {
                build->work.emplace(dir, "." + output.filename().string() + ".work");
                build->raw = build->work->create_sparse("volume.raw", 0644, size);
              }
              if (containerd) return;
              core::run_checked(effects, cache_mkfs_command(label, build->raw), "mke2fs (cache volume)");
            },
            {}});
  if (format == VolumeFormat::qcow2)
    plan.add({"volume.cache.convert", "command",
              "convert to a thin qcow2 (holes stay unallocated)",
              core::command_detail(qcow2_convert_command("$WORK/volume.raw", output, k_convert_timeout)),
              done,
              [build, output, force = request.force, &effects] {
                build->out.emplace(output, 0644, force);
                build->out->close_fd();
                core::run_checked(effects,
                                  qcow2_convert_command(build->raw, build->out->temp_path(), k_convert_timeout),
                                  "qemu-img convert (cache volume)");
                build->work.reset(); // the raw copy goes before the rename
              },
              {}});
  plan.add({"volume.cache.commit", "file", "move the volume into place as " + output.string(),
            {{"path", output.string()}}, done, [build] { build->out->commit(); },
            [output] {
              std::error_code ec2;
              fs::remove(output, ec2);
            }});
  return result;
}

} // namespace tdx::volume
