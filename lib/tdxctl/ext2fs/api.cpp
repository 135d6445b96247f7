// The one libext2fs.so.2 handle and its function table.
#include "tdxctl/ext2fs/api.hpp"

namespace tdx::ext2fs {

const Api& api() {
  return core::lazy_api<Api>("libext2fs.so.2", "libext2fs2", [](core::SharedLibrary& library, Api& table) {
    TDX_EXT2FS_FUNCTIONS(TDX_API_RESOLVE)
    table.unix_io_manager = *static_cast<io_manager*>(library.symbol("unix_io_manager"));
  });
}

} // namespace tdx::ext2fs
