// SS58 decoding and checksum checks for the miner hotkey. The guest only
// checks the alphabet, the length and a leading '5', so a typo in the middle
// of the address boots a TD that registers the wrong miner; the checksum
// (BLAKE2b-512 from OpenSSL, the big-integer base conversion with OpenSSL's
// BIGNUM) catches it on the host. Debian 12 packages no C/C++ base58 codec.
#include "tdxctl/core/ss58.hpp"

#include <openssl/bn.h>
#include <openssl/evp.h>

#include <algorithm>
#include <memory>
#include <string>

namespace tdx::core {


namespace {
constexpr std::string_view k_alphabet =
    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

struct BnFree {
  void operator()(BIGNUM* bn) const { BN_free(bn); }
};
} // namespace

Result<std::vector<uint8_t>> base58_decode(std::string_view text, std::string_view what) {
  if (text.empty())
    return fail(Category::invalid_input, "ss58.empty", std::string(what) + ": empty value");
  std::unique_ptr<BIGNUM, BnFree> value(BN_new());
  if (!value) throw Failure(Category::failed, "openssl.alloc", "BN_new failed");
  for (size_t i = 0; i < text.size(); ++i) {
    auto digit = k_alphabet.find(text[i]);
    if (digit == std::string_view::npos)
      return fail(Category::invalid_input, "ss58.alphabet",
                  std::string(what) + ": character " + std::to_string(i + 1) +
                      " is not in the base58 alphabet (" + std::string(k_alphabet) + ")");
    if (!BN_mul_word(value.get(), 58) || !BN_add_word(value.get(), digit))
      throw Failure(Category::failed, "openssl.bn", "BIGNUM arithmetic failed");
  }
  // Each leading '1' stands for one leading zero byte.
  size_t zeros = 0;
  while (zeros < text.size() && text[zeros] == '1') ++zeros;
  std::vector<uint8_t> out(zeros + static_cast<size_t>(BN_num_bytes(value.get())));
  BN_bn2bin(value.get(), out.data() + zeros);
  return out;
}

static std::vector<uint8_t> blake2b_512(const std::vector<uint8_t>& data) {
  std::vector<uint8_t> digest(64);
  unsigned int len = 0;
  EVP_MD* md = EVP_MD_fetch(nullptr, "BLAKE2B-512", nullptr);
  if (!md) throw Failure(Category::failed, "openssl.blake2b", "OpenSSL has no BLAKE2B-512");
  bool ok = EVP_Digest(data.data(), data.size(), digest.data(), &len, md, nullptr) == 1;
  EVP_MD_free(md);
  if (!ok) throw Failure(Category::failed, "openssl.blake2b", "BLAKE2B-512 digest failed");
  return digest;
}

Result<Ss58Address> parse_ss58(std::string_view text, std::string_view what) {
  auto decoded = base58_decode(text, what);
  if (!decoded) return std::unexpected(decoded.error());
  const auto& bytes = *decoded;
  // Address types below 64 take one byte; 64..16383 take two (SS58 spec).
  if (bytes.empty() || bytes[0] >= 128)
    return fail(Category::invalid_input, "ss58.prefix",
                std::string(what) + ": not an SS58 address (reserved address type byte)");
  size_t prefix_len = bytes[0] < 64 ? 1 : 2;
  constexpr size_t account_len = 32, checksum_len = 2;
  if (bytes.size() != prefix_len + account_len + checksum_len)
    return fail(Category::invalid_input, "ss58.length",
                std::string(what) + ": decodes to " + std::to_string(bytes.size()) +
                    " bytes; an SS58 account address has " +
                    std::to_string(prefix_len + account_len + checksum_len) +
                    " (address type, 32-byte account id, 2-byte checksum)");
  std::vector<uint8_t> preimage{'S', 'S', '5', '8', 'P', 'R', 'E'};
  preimage.insert(preimage.end(), bytes.begin(), bytes.end() - checksum_len);
  auto digest = blake2b_512(preimage);
  if (!std::equal(digest.begin(), digest.begin() + checksum_len, bytes.end() - checksum_len))
    return fail(Category::invalid_input, "ss58.checksum",
                std::string(what) + ": checksum mismatch (a mistyped or truncated address)",
                "copy the address again from the wallet (e.g. btcli wallet overview)");
  Ss58Address address;
  if (prefix_len == 1) {
    address.network = bytes[0];
  } else {
    address.network = static_cast<uint16_t>(((bytes[0] & 0x3f) << 2) | (bytes[1] >> 6) |
                                            ((bytes[1] & 0x3f) << 8));
  }
  address.account_id.assign(bytes.begin() + prefix_len, bytes.end() - checksum_len);
  return address;
}

Result<std::string> check_ss58_hotkey(std::string_view text) {
  // The guest's own rules first (length 40-50, leading '5'), then the checksum.
  if (text.size() < 40 || text.size() > 50)
    return fail(Category::invalid_input, "ss58.length",
                "is " + std::to_string(text.size()) + " characters; an SS58 hotkey address has 40 to 50");
  auto address = parse_ss58(text, "SS58 address");
  if (!address) return std::unexpected(address.error());
  if (text.front() != '5')
    return fail(Category::invalid_input, "ss58.network",
                "is an address for network " + std::to_string(address->network) +
                    "; the guest accepts only generic Substrate addresses (type 42), which start with '5'");
  return std::string(text);
}

} // namespace tdx::core
