#pragma once
// The libcurl API as tdxctl uses it (collateral and PCCS fetches, the unlock
// client's key exchange). Every call into libcurl.so.4 goes through api():
// the library is opened on the first call (core::SharedLibrary). Mapping
// libcurl with its ~23 dependencies (LDAP, Kerberos, GnuTLS, ...) cost every
// command ~12 ms of start-up, most of them never fetching anything.
// The members are declared from libcurl's own header (decltype), so a
// signature can never drift from it. tdxctl-guest still lists libcurl as
// NEEDED (the image build copies what ldd lists into the initramfs); there
// dlopen finds it already loaded.

// Include this header, not <curl/curl.h>, wherever libcurl is called. (Its
// type-checking wrappers, macros named like the functions, exist only for C.)
#include <curl/curl.h>

#include "tdxctl/core/shared_library.hpp"

namespace tdx::libcurl {

#define TDX_LIBCURL_FUNCTIONS(X) \
  X(curl_easy_cleanup) \
  X(curl_easy_getinfo) \
  X(curl_easy_init) \
  X(curl_easy_perform) \
  X(curl_easy_setopt) \
  X(curl_easy_strerror) \
  X(curl_global_init) \
  X(curl_slist_append) \
  X(curl_slist_free_all)

struct Api {
  TDX_LIBCURL_FUNCTIONS(TDX_API_MEMBER)
  bool global_init_ok = false; // curl_global_init(CURL_GLOBAL_DEFAULT), run once with the load
};

// Opens libcurl.so.4 and runs curl_global_init on first use; throws
// core::Failure (not_ready, core.library) when the library is missing.
const Api& api();

// What the handle types' owners call.
using EasyFree = core::ApiFree<&api, &Api::curl_easy_cleanup>;
using SlistFree = core::ApiFree<&api, &Api::curl_slist_free_all>;

} // namespace tdx::libcurl
