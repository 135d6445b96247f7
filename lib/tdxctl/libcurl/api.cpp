// The one libcurl.so.4 handle and its function table.
#include "tdxctl/libcurl/api.hpp"

namespace tdx::libcurl {

const Api& api() {
  return core::lazy_api<Api>("libcurl.so.4", "libcurl4", [](core::SharedLibrary& library, Api& table) {
    TDX_LIBCURL_FUNCTIONS(TDX_API_RESOLVE)
    // Inside the function-local static's initialisation: once, before any
    // thread can make a handle, as libcurl requires.
    table.global_init_ok = table.curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  });
}

} // namespace tdx::libcurl
