// The one libguestfs.so.0 handle and its function table.
#include "tdxctl/guestfs/api.hpp"

namespace tdx::guestfs {

const Api& api() {
  return core::lazy_api<Api>("libguestfs.so.0", "libguestfs0", [](core::SharedLibrary& library, Api& table) {
    TDX_GUESTFS_FUNCTIONS(TDX_API_RESOLVE)
  });
}

} // namespace tdx::guestfs
