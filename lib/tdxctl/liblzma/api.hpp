#pragma once
// The liblzma API as tdxctl uses it (measure/var_store: the LZMA-compressed
// firmware volume of a TDVF build). Every call goes through api():
// liblzma.so.5 is opened on first use (core::SharedLibrary), so only
// `image measure` maps it. The members are declared from lzma.h (decltype),
// so a signature cannot drift.

#include <lzma.h>

#include "tdxctl/core/shared_library.hpp"

namespace tdx::liblzma {

#define TDX_LIBLZMA_FUNCTIONS(X) \
  X(lzma_alone_decoder) \
  X(lzma_code) \
  X(lzma_end)

struct Api {
  TDX_LIBLZMA_FUNCTIONS(TDX_API_MEMBER)
};

// Opens liblzma.so.5 on first use; throws core::Failure (not_ready,
// core.library) when it is missing.
const Api& api();

} // namespace tdx::liblzma
