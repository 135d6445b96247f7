#include "tdxctl/core/digest.hpp"

#include "tdxctl/core/error.hpp"
#include "tdxctl/core/hex.hpp"

#include <openssl/evp.h>

namespace tdx::core {

namespace {

std::string digest_hex(std::string_view data, const EVP_MD* md, const char* name) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out, &len, md, nullptr) != 1)
    throw Failure(Category::failed, std::string("openssl.") + name, std::string(name) + " digest failed");
  return to_hex({out, len});
}

} // namespace

std::string sha256_hex(std::string_view data) { return digest_hex(data, EVP_sha256(), "sha256"); }
std::string sha384_hex(std::string_view data) { return digest_hex(data, EVP_sha384(), "sha384"); }

} // namespace tdx::core
