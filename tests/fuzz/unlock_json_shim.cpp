// Fuzz target "unlock-json": the two bodies a key service sends
// `tdxctl-guest unlock` (the nonce response and the attestation response
// holding the key), parsed by the functions the client uses on the wire. They
// arrive over the network from a party the TD does not trust; each must
// parse or return an error (never crash, never recurse into a stack
// overflow on deep nesting), and the key response's strings are wiped.
#include "tdxctl/unlock/key_release.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

extern "C" int tdxctl_fuzz_one(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto nonce = tdx::unlock::parse_nonce_response(text);
  if (nonce) (void)tdx::unlock::unlock_report_data(*nonce, {});
  auto key = tdx::unlock::parse_key_response(tdx::core::Secret(std::string(text)));
  return nonce || key ? 1 : 0;
}
