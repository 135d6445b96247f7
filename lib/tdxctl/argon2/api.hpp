#pragma once
// The libargon2 API as tdxctl uses it (image/luks_deterministic: argon2id
// for the keyslots of reproducible LUKS2 volumes). Every call goes through
// api(): libargon2.so.1 is opened on first use (core::SharedLibrary), so
// only the image build maps it. The members are declared from argon2.h
// (decltype), so a signature cannot drift.

#include <argon2.h>

#include "tdxctl/core/shared_library.hpp"

namespace tdx::argon2 {

#define TDX_ARGON2_FUNCTIONS(X) \
  X(argon2_error_message) \
  X(argon2id_hash_raw)

struct Api {
  TDX_ARGON2_FUNCTIONS(TDX_API_MEMBER)
};

// Opens libargon2.so.1 on first use; throws core::Failure (not_ready,
// core.library) when it is missing.
const Api& api();

} // namespace tdx::argon2
