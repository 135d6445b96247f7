// RAND_bytes behind one error: core.random, exit 1.
#include "tdxctl/core/random.hpp"

#include <openssl/rand.h>

#include <string>

namespace tdx::core {

Result<void> random_bytes(std::span<uint8_t> out, const char* what) {
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1)
    return fail(Category::failed, "core.random",
                std::string("OpenSSL could not generate random bytes for the ") + what);
  return {};
}

Result<std::array<uint8_t, 32>> random_nonce() {
  std::array<uint8_t, 32> nonce{};
  if (auto r = random_bytes(nonce, "nonce"); !r) return std::unexpected(r.error());
  return nonce;
}

} // namespace tdx::core
