#pragma once
// The libguestfs C API as tdxctl uses it (image build, inspect and verify;
// volume inspect).
// Every call into libguestfs.so.0 goes through api(): the library is opened on the
// first call (core::SharedLibrary), so a command that never uses it does not
// map it and its dependencies at start-up. The members are declared from the
// library's own header (decltype), so a signature can never drift from it.

#include "tdxctl/core/shared_library.hpp"

#include <guestfs.h>

namespace tdx::guestfs {

#define TDX_GUESTFS_FUNCTIONS(X) \
  X(guestfs_add_drive_opts) \
  X(guestfs_blockdev_getsize64) \
  X(guestfs_checksum) \
  X(guestfs_chmod) \
  X(guestfs_close) \
  X(guestfs_command_lines) \
  X(guestfs_create) \
  X(guestfs_cryptsetup_close) \
  X(guestfs_cryptsetup_open) \
  X(guestfs_download_offset) \
  X(guestfs_exists) \
  X(guestfs_free_dirent_list) \
  X(guestfs_free_partition_list) \
  X(guestfs_free_statns) \
  X(guestfs_fsck) \
  X(guestfs_initrd_list) \
  X(guestfs_inspect_get_distro) \
  X(guestfs_inspect_get_major_version) \
  X(guestfs_inspect_get_minor_version) \
  X(guestfs_inspect_get_mountpoints) \
  X(guestfs_inspect_os) \
  X(guestfs_last_error) \
  X(guestfs_launch) \
  X(guestfs_list_partitions) \
  X(guestfs_ls) \
  X(guestfs_lstatns) \
  X(guestfs_mount) \
  X(guestfs_mount_ro) \
  X(guestfs_part_get_gpt_type) \
  X(guestfs_part_get_name) \
  X(guestfs_part_list) \
  X(guestfs_part_to_partnum) \
  X(guestfs_read_file) \
  X(guestfs_readdir) \
  X(guestfs_set_backend_settings) \
  X(guestfs_set_error_handler) \
  X(guestfs_set_event_callback) \
  X(guestfs_sh) \
  X(guestfs_shutdown) \
  X(guestfs_tune2fs_l) \
  X(guestfs_vfs_label) \
  X(guestfs_vfs_type) \
  X(guestfs_vfs_uuid) \
  X(guestfs_write)

struct Api {
  TDX_GUESTFS_FUNCTIONS(TDX_API_MEMBER)
};

// Opens and resolves on first use (core::lazy_api); Failure(not_ready)
// naming the package when the library is missing.
const Api& api();

} // namespace tdx::guestfs
