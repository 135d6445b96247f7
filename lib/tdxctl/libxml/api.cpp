// The one libxml2.so.2 handle and its function table.
#include "tdxctl/libxml/api.hpp"

namespace tdx::libxml {

const Api& api() {
  return core::lazy_api<Api>("libxml2.so.2", "libxml2", [](core::SharedLibrary& library, Api& table) {
    TDX_LIBXML_FUNCTIONS(TDX_API_RESOLVE)
    table.free_hook = static_cast<xmlFreeFunc*>(library.symbol("xmlFree"));
  });
}

} // namespace tdx::libxml
