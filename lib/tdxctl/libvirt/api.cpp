// The one libvirt.so.0 handle and its function table.
#include "tdxctl/libvirt/api.hpp"

namespace tdx::libvirt {

const Api& api() {
  return core::lazy_api<Api>("libvirt.so.0", "libvirt0", [](core::SharedLibrary& library, Api& table) {
    TDX_LIBVIRT_FUNCTIONS(TDX_API_RESOLVE)
  });
}

} // namespace tdx::libvirt
