#pragma once
// The libext2fs API as tdxctl uses it (image/ext4_mkfs and ext4_unpack:
// reading and touching up ext4 images without mounting them). Every call
// goes through api(): libext2fs.so.2 is opened on first use
// (core::SharedLibrary), so only the image commands map it and libcom_err
// (error_message, found through it). The members are declared from the
// library's own headers (decltype), so a signature cannot drift.

#include <ext2fs/ext2fs.h>
#include <et/com_err.h>

#include "tdxctl/core/shared_library.hpp"

namespace tdx::ext2fs {

#define TDX_EXT2FS_FUNCTIONS(X) \
  X(error_message) \
  X(ext2fs_blocks_count) \
  X(ext2fs_close_free) \
  X(ext2fs_close_inode_scan) \
  X(ext2fs_dir_iterate2) \
  X(ext2fs_file_close) \
  X(ext2fs_file_open2) \
  X(ext2fs_file_read) \
  X(ext2fs_get_next_inode_full) \
  X(ext2fs_is_fast_symlink) \
  X(ext2fs_open2) \
  X(ext2fs_open_inode_scan) \
  X(ext2fs_read_inode_full) \
  X(ext2fs_write_inode_full) \
  X(ext2fs_xattr_get) \
  X(ext2fs_xattrs_close) \
  X(ext2fs_xattrs_iterate) \
  X(ext2fs_xattrs_open) \
  X(ext2fs_xattrs_read)

struct Api {
  TDX_EXT2FS_FUNCTIONS(TDX_API_MEMBER)
  // unix_io_manager is a variable (the I/O manager for plain files), not a
  // function.
  io_manager unix_io_manager = nullptr;
};

// Opens libext2fs.so.2 on first use; throws core::Failure (not_ready,
// core.library) when it is missing.
const Api& api();

} // namespace tdx::ext2fs
