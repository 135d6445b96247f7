#pragma once
// SS58 addresses (Substrate account ids, the miner hotkey): base58 text of
// prefix ‖ account id ‖ checksum, where the checksum is the first bytes of
// BLAKE2b-512("SS58PRE" ‖ prefix ‖ account id).
//
// In core (the guest slice) because both sides check the same hotkey: the
// host before it writes the config volume, tdxctl-guest before it sends the
// volume's value to the key service and writes it to /run/chutes/hotkey.

#include "tdxctl/core/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tdx::core {

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

// A miner hotkey as the guest accepts it: 40 to 50 characters, a generic
// Substrate address (type 42, leading '5') with a valid checksum. Returns the
// text; messages are relative ("is 39 characters; ...") for the caller to
// prefix with the key or file.
core::Result<std::string> check_ss58_hotkey(std::string_view text);

} // namespace tdx::core
