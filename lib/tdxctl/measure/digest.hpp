#pragma once
// SHA-384, the one hash of TDX measurement: MRTD is a running SHA-384 over
// the TDX module's 128-byte records, and every RTMR is extended with a
// SHA-384 digest as RTMR = SHA-384(RTMR || digest).

#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace tdx::measure {

using Digest = std::array<uint8_t, 48>;

// A streaming SHA-384, for inputs hashed in pieces (MRTD, PE images).
class Sha384 {
public:
  Sha384();
  void update(std::span<const uint8_t> data);
  Digest finish();

private:
  struct CtxDeleter { void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); } };
  std::unique_ptr<EVP_MD_CTX, CtxDeleter> m_ctx;
};

Digest sha384(std::span<const uint8_t> data);
// register = SHA-384(register || digest): TDG.MR.RTMR.EXTEND.
void extend(Digest& reg, const Digest& digest);
std::string digest_hex(const Digest& d);

} // namespace tdx::measure
