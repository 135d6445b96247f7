// The one libargon2.so.1 handle and its function table.
#include "tdxctl/argon2/api.hpp"

namespace tdx::argon2 {

const Api& api() {
  return core::lazy_api<Api>("libargon2.so.1", "libargon2-1", [](core::SharedLibrary& library, Api& table) {
    TDX_ARGON2_FUNCTIONS(TDX_API_RESOLVE)
  });
}

} // namespace tdx::argon2
