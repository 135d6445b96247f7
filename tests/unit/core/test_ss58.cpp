// core/ss58: base58 decoding and the BLAKE2b-512 checksum of SS58 addresses.
#include "tdxctl/core/ss58.hpp"

#include <catch2/catch.hpp>

using namespace tdx::core;

// Alice's well-known development account (substrate `subkey inspect //Alice`).
static const char* k_alice = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";

TEST_CASE("ss58: a known generic Substrate address decodes to type 42 and Alice's public key") {
  auto a = parse_ss58(k_alice, "address");
  REQUIRE(a);
  CHECK(a->network == 42);
  REQUIRE(a->account_id.size() == 32);
  // d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d
  CHECK(a->account_id[0] == 0xd4);
  CHECK(a->account_id[1] == 0x35);
  CHECK(a->account_id[31] == 0x7d);
}

TEST_CASE("ss58: a one-character typo fails the checksum") {
  std::string typo = k_alice;
  typo[10] = typo[10] == 'z' ? 'y' : 'z';
  auto a = parse_ss58(typo, "--miner-ss58");
  REQUIRE_FALSE(a);
  CHECK(a.error().code == "ss58.checksum");
  CHECK(a.error().message == "--miner-ss58: checksum mismatch (a mistyped or truncated address)");
}

TEST_CASE("ss58: characters outside the base58 alphabet are named by position") {
  std::string bad = k_alice;
  bad[4] = '0'; // zero is not in the alphabet
  auto a = parse_ss58(bad, "addr");
  REQUIRE_FALSE(a);
  CHECK(a.error().message.find("character 5 is not in the base58 alphabet") != std::string::npos);
}

TEST_CASE("ss58: a truncated address has the wrong decoded length") {
  auto a = parse_ss58(std::string(k_alice).substr(0, 40), "addr");
  REQUIRE_FALSE(a);
  CHECK(a.error().code == "ss58.length");
}

TEST_CASE("ss58: base58 keeps leading zero bytes") {
  auto b = base58_decode("112", "x");
  REQUIRE(b);
  CHECK(*b == std::vector<uint8_t>{0, 0, 1});
}

TEST_CASE("ss58: the hotkey check applies the guest's length and network rules and the checksum") {
  CHECK(check_ss58_hotkey(k_alice).value() == k_alice);
  auto short_key = check_ss58_hotkey(std::string(k_alice).substr(0, 39));
  REQUIRE_FALSE(short_key);
  CHECK(short_key.error().code == "ss58.length");
  // Polkadot (type 0) form of Alice's key: valid checksum, wrong network.
  auto polkadot = check_ss58_hotkey("15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5");
  REQUIRE_FALSE(polkadot);
  CHECK(polkadot.error().code == "ss58.network");
  auto shell = check_ss58_hotkey("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehX$(reboot)Y");
  REQUIRE_FALSE(shell);
  CHECK(shell.error().code == "ss58.alphabet");
}
