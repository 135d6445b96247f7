#pragma once
// Builds an ext4 filesystem from a directory tree natively (mke2fs -d):
// owners, modes (setuid included), hard links, device nodes and extended
// attributes (file capabilities, ACLs) come across as they are in the tree.

#include "tdxctl/core/runner.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace tdx::image {

struct Ext4Options {
  uint64_t size = 0;          // bytes of filesystem
  // 0: the image file is made (or truncated to) `size` bytes. Otherwise the
  // filesystem is written at this byte offset of an existing image, which
  // must hold offset + size bytes; the bytes around it are left as they are.
  uint64_t offset = 0;
  std::string uuid;           // the filesystem UUID
  std::string hash_seed;      // a UUID: directory hashes, fixed so the same tree gives the same bytes
  std::string label;          // may be empty
  uint32_t inode_size = 0;    // 0: mke2fs's default
  // SOURCE_DATE_EPOCH: superblock times, and no inode time above it (see clamp_ext4_times).
  std::optional<int64_t> timestamp;
};

// Failure(failed) with mke2fs's message (e.g. the tree does not fit).
void make_ext4_from_tree(core::ProcessRunner& runner, const std::filesystem::path& tree,
                         const std::filesystem::path& image, const Ext4Options& options);

// Every inode and superblock time above `epoch` set to `epoch`, in the
// filesystem at byte `offset` of `image`.
void clamp_ext4_times(const std::filesystem::path& image, int64_t epoch, uint64_t offset = 0);

} // namespace tdx::image
