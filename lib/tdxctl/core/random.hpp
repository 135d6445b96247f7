#pragma once
// Randomness for nonces and keys: OpenSSL's DRBG, which seeds itself from
// getrandom(2). One home, so every caller fails the same way when the
// kernel has no entropy to give.

#include "tdxctl/core/error.hpp"

#include <array>
#include <cstdint>
#include <span>

namespace tdx::core {

// Fills `out`; `what` names the value in the error ("nonce", "LUKS key").
Result<void> random_bytes(std::span<uint8_t> out, const char* what);

// A fresh 32-byte nonce (quote requests, `keys serve`'s nonce book).
Result<std::array<uint8_t, 32>> random_nonce();

} // namespace tdx::core
