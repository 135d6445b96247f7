// The one libcryptsetup.so.12 handle and its function table.
#include "tdxctl/cryptsetup/api.hpp"

namespace tdx::cryptsetup {

const Api& api() {
  return core::lazy_api<Api>("libcryptsetup.so.12", "libcryptsetup12", [](core::SharedLibrary& library, Api& table) {
    TDX_CRYPTSETUP_FUNCTIONS(TDX_API_RESOLVE)
  });
}

} // namespace tdx::cryptsetup
