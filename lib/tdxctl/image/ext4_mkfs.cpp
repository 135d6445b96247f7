#include "tdxctl/image/ext4_mkfs.hpp"

#include "tdxctl/core/error.hpp"
#include "tdxctl/ext2fs/api.hpp"

#include <ext2fs/ext2_fs.h>

#include <string>
#include <vector>

namespace tdx::image {

void make_ext4_from_tree(core::ProcessRunner& runner, const std::filesystem::path& tree,
                         const std::filesystem::path& image, const Ext4Options& o) {
  constexpr uint64_t block = 4096; // dm-crypt's 4096-byte sectors need blocks at least that large
  if (o.offset == 0) std::filesystem::resize_file(image, o.size);
  std::vector<std::string> argv{"mke2fs", "-q", "-F", "-t", "ext4", "-b", std::to_string(block), "-U", o.uuid};
  // Extended options go in one -E: a second one would replace the first.
  std::string extended;
  if (!o.hash_seed.empty()) extended += "hash_seed=" + o.hash_seed;
  if (o.offset) extended += (extended.empty() ? "" : ",") + ("offset=" + std::to_string(o.offset));
  if (!extended.empty()) argv.insert(argv.end(), {"-E", extended});
  if (o.inode_size) argv.insert(argv.end(), {"-I", std::to_string(o.inode_size)});
  if (!o.label.empty()) argv.insert(argv.end(), {"-L", o.label});
  argv.insert(argv.end(), {"-d", tree.string(), image.string()});
  // At an offset the image is larger than the filesystem: give its size in
  // blocks (with -b, mke2fs reads the count in blocks of that size).
  if (o.offset) argv.push_back(std::to_string(o.size / block));
  core::Command cmd{argv};
  if (o.timestamp) cmd.env.push_back("E2FSPROGS_FAKE_TIME=" + std::to_string(*o.timestamp));
  core::run_checked(runner, cmd, "mke2fs -d " + tree.filename().string());
  if (o.timestamp) clamp_ext4_times(image, *o.timestamp, o.offset);
}

// mke2fs -d copies each inode's ctime from the tree, where it is the moment
// the build wrote the file: never the same twice. Every inode time above
// `epoch` becomes `epoch` (nanoseconds 0), and so do the superblock's times.
void clamp_ext4_times(const std::filesystem::path& image, int64_t epoch, uint64_t offset) {
  ext2_filsys fs = nullptr;
  // unix_io's "offset=" option places the whole filesystem at that byte.
  const std::string io_options = offset ? "offset=" + std::to_string(offset) : "";
  errcode_t rc = ext2fs::api().ext2fs_open2(image.c_str(), io_options.empty() ? nullptr : io_options.c_str(),
                              EXT2_FLAG_RW | EXT2_FLAG_64BITS, 0, 0, ext2fs::api().unix_io_manager, &fs);
  if (rc)
    throw core::Failure(core::Category::failed, "image.ext4.clamp", image.string() + ": " + ext2fs::api().error_message(rc));
  fs->now = static_cast<time_t>(epoch);
  ext2_inode_scan scan = nullptr;
  rc = ext2fs::api().ext2fs_open_inode_scan(fs, 0, &scan);
  const bool large = EXT2_INODE_SIZE(fs->super) > EXT2_GOOD_OLD_INODE_SIZE;
  auto clamp = [&](ext2_inode_large& inode, __u32& seconds, __u32* extra, size_t offset) {
    bool has_extra = large && size_t{EXT2_GOOD_OLD_INODE_SIZE} + inode.i_extra_isize >= offset + sizeof(__u32);
    int64_t t = static_cast<int32_t>(seconds);
    if (has_extra) t += static_cast<int64_t>(*extra & EXT4_EPOCH_MASK) << 32;
    if (t < epoch) return false;
    seconds = static_cast<__u32>(epoch & 0xffffffff);
    if (has_extra) *extra = static_cast<__u32>((epoch >> 32) & EXT4_EPOCH_MASK);
    return true;
  };
  while (!rc) {
    ext2_ino_t ino = 0;
    ext2_inode_large inode{};
    rc = ext2fs::api().ext2fs_get_next_inode_full(scan, &ino, reinterpret_cast<ext2_inode*>(&inode), sizeof inode);
    if (rc || ino == 0) break;
    if (inode.i_links_count == 0) continue;
    bool changed = clamp(inode, inode.i_atime, &inode.i_atime_extra, offsetof(ext2_inode_large, i_atime_extra));
    changed |= clamp(inode, inode.i_mtime, &inode.i_mtime_extra, offsetof(ext2_inode_large, i_mtime_extra));
    changed |= clamp(inode, inode.i_ctime, &inode.i_ctime_extra, offsetof(ext2_inode_large, i_ctime_extra));
    changed |= clamp(inode, inode.i_crtime, &inode.i_crtime_extra, offsetof(ext2_inode_large, i_crtime_extra));
    if (changed)
      rc = ext2fs::api().ext2fs_write_inode_full(fs, ino, reinterpret_cast<ext2_inode*>(&inode), sizeof inode);
  }
  if (scan) ext2fs::api().ext2fs_close_inode_scan(scan);
  if (!rc) {
    auto t = static_cast<__u32>(epoch);
    fs->super->s_wtime = fs->super->s_mtime = fs->super->s_mkfs_time = fs->super->s_lastcheck = t;
    ext2fs_mark_super_dirty(fs);
  }
  errcode_t closed = ext2fs::api().ext2fs_close_free(&fs);
  if (rc || closed)
    throw core::Failure(core::Category::failed, "image.ext4.clamp",
                        image.string() + ": clamping timestamps: " + ext2fs::api().error_message(rc ? rc : closed));
}

} // namespace tdx::image
