// The one libnftables.so.1 handle and its function table.
#include "tdxctl/nftables/api.hpp"

namespace tdx::nftables {

const Api& api() {
  return core::lazy_api<Api>("libnftables.so.1", "libnftables1", [](core::SharedLibrary& library, Api& table) {
    TDX_NFTABLES_FUNCTIONS(TDX_API_RESOLVE)
  });
}

} // namespace tdx::nftables
