// The one liblzma.so.5 handle and its function table.
#include "tdxctl/liblzma/api.hpp"

namespace tdx::liblzma {

const Api& api() {
  return core::lazy_api<Api>("liblzma.so.5", "liblzma5", [](core::SharedLibrary& library, Api& table) {
    TDX_LIBLZMA_FUNCTIONS(TDX_API_RESOLVE)
  });
}

} // namespace tdx::liblzma
