#pragma once
// The libnftables API as tdxctl uses it (net up/down on a host whose ruleset
// is native nftables). Every call into libnftables.so.1 goes through api():
// the library is opened on the first call (core::SharedLibrary), so the
// commands that never touch the firewall do not map it and its six
// dependencies at start-up. The members are declared from the library's own
// header (decltype), so a signature can never drift from it.

#include "tdxctl/core/shared_library.hpp"

#include <nftables/libnftables.h>

namespace tdx::nftables {

#define TDX_NFTABLES_FUNCTIONS(X) \
  X(nft_ctx_buffer_error) \
  X(nft_ctx_buffer_output) \
  X(nft_ctx_free) \
  X(nft_ctx_get_error_buffer) \
  X(nft_ctx_get_output_buffer) \
  X(nft_ctx_new) \
  X(nft_ctx_output_get_flags) \
  X(nft_ctx_output_set_flags) \
  X(nft_ctx_set_dry_run) \
  X(nft_run_cmd_from_buffer)

struct Api {
  TDX_NFTABLES_FUNCTIONS(TDX_API_MEMBER)
};

// Opens libnftables.so.1 on first use; throws core::Failure (not_ready,
// core.library) when the library is missing.
const Api& api();

} // namespace tdx::nftables
