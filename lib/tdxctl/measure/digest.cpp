#include "tdxctl/measure/digest.hpp"

#include "tdxctl/core/error.hpp"
#include "tdxctl/core/hex.hpp"

namespace tdx::measure {

Sha384::Sha384() : m_ctx(EVP_MD_CTX_new()) {
  if (!m_ctx || EVP_DigestInit_ex(m_ctx.get(), EVP_sha384(), nullptr) != 1)
    throw core::Failure(core::Category::failed, "measure.sha384", "cannot initialise SHA-384");
}

void Sha384::update(std::span<const uint8_t> data) {
  if (EVP_DigestUpdate(m_ctx.get(), data.data(), data.size()) != 1)
    throw core::Failure(core::Category::failed, "measure.sha384", "SHA-384 update failed");
}

Digest Sha384::finish() {
  Digest out{};
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(m_ctx.get(), out.data(), &len) != 1 || len != out.size())
    throw core::Failure(core::Category::failed, "measure.sha384", "SHA-384 final failed");
  return out;
}

Digest sha384(std::span<const uint8_t> data) {
  Sha384 h;
  h.update(data);
  return h.finish();
}

void extend(Digest& reg, const Digest& digest) {
  Sha384 h;
  h.update(reg);
  h.update(digest);
  reg = h.finish();
}

std::string digest_hex(const Digest& d) { return core::to_hex(d); }

} // namespace tdx::measure
