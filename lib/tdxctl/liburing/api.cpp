// The one liburing.so.2 handle and its function table.
#include "tdxctl/liburing/api.hpp"

namespace tdx::liburing {

const Api& api() {
  return core::lazy_api<Api>("liburing.so.2", "liburing2", [](core::SharedLibrary& library, Api& table) {
    TDX_LIBURING_FUNCTIONS(TDX_API_RESOLVE)
  });
}

} // namespace tdx::liburing
