// The one libnl-route-3.so.200 handle and its function table.
#include "tdxctl/libnl/api.hpp"

namespace tdx::libnl {

const Api& api() {
  return core::lazy_api<Api>("libnl-route-3.so.200", "libnl-route-3-200", [](core::SharedLibrary& library, Api& table) {
    TDX_LIBNL_FUNCTIONS(TDX_API_RESOLVE)
  });
}

} // namespace tdx::libnl
