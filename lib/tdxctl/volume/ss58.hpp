#pragma once
// SS58 addresses (Substrate account ids, the miner hotkey): base58 text of
// prefix ‖ account id ‖ checksum, where the checksum is the first bytes of
// BLAKE2b-512("SS58PRE" ‖ prefix ‖ account id).

#include "tdxctl/core/error.hpp"

#include <cstdint>
#include <string_view>
#include <vector>

namespace tdx::volume {

struct Ss58Address {
  uint16_t network = 0;            // the address type (42: generic Substrate)
  std::vector<uint8_t> account_id; // the public key bytes
};

// Decodes base58 (Bitcoin alphabet) into bytes; an error names the offset of
// the first character outside the alphabet.
core::Result<std::vector<uint8_t>> base58_decode(std::string_view text, std::string_view what);

// Decodes and checks an SS58 address: alphabet, a 32-byte account id and the
// 2-byte BLAKE2b-512 checksum. Errors are invalid_input naming `what`.
core::Result<Ss58Address> parse_ss58(std::string_view text, std::string_view what);

} // namespace tdx::volume
