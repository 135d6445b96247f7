#pragma once
// Reads an ext2/3/4 filesystem image into a directory natively, with
// libext2fs: no kernel mount of an untrusted filesystem, no VM.
//
// Why not `debugfs -R rdump` (measured on e2fsprogs 1.47.0): it drops
// extended attributes (so file capabilities), clears setuid/setgid bits (it
// chowns after chmod) and skips device nodes and FIFOs. Why not one libguestfs
// `tar-out` stream: it is exact, but the appliance launch alone (~15 s under
// TCG) and tar running emulated cost more than the whole native unpack.
// This keeps every inode's type, owner, mode (setuid included), extended
// attributes (security.capability, POSIX ACLs, user.*), hard links and
// timestamps.

#include <cstdint>
#include <filesystem>
#include <string>

namespace tdx::image {

struct Ext4Facts {
  std::string uuid;  // lowercase, dashed
  std::string label; // the volume name, may be empty
  uint64_t block_size = 0, block_count = 0;
  uint32_t inode_size = 0;
  uint64_t files = 0; // inodes unpacked
  int64_t newest_mtime = 0; // the newest modification time among them
};

// What the superblock says, without unpacking.
Ext4Facts read_ext4_facts(const std::filesystem::path& image);

// Unpacks `image` into `dest`, an existing empty directory that takes the
// filesystem root's owner, mode and times. Names from the image are checked
// (no '/', not "." or ".."), every file is created relative to its parent's
// descriptor without following links, a directory reached twice is refused,
// and lost+found is left out (mke2fs makes its own). Failure(invalid_input) for
// a damaged filesystem, Failure(failed) for a host write error.
Ext4Facts unpack_ext4(const std::filesystem::path& image, const std::filesystem::path& dest);

} // namespace tdx::image
