// core::random: nonces are 32 bytes from OpenSSL's DRBG, never repeated, and
// random_bytes fills exactly the span it is given.
#include "tdxctl/core/random.hpp"

#include <catch2/catch.hpp>

#include <set>

using namespace tdx;

TEST_CASE("core::random_nonce: 32 bytes, a different value each call") {
  std::set<std::array<uint8_t, 32>> seen;
  for (int i = 0; i < 64; ++i) seen.insert(core::value_or_throw(core::random_nonce()));
  CHECK(seen.size() == 64);
}

TEST_CASE("core::random_bytes fills the whole span and nothing beyond it") {
  std::array<uint8_t, 48> buf{};
  REQUIRE(core::random_bytes(std::span<uint8_t>(buf).first(40), "test value"));
  CHECK(std::any_of(buf.begin(), buf.begin() + 40, [](uint8_t b) { return b != 0; }));
  CHECK(std::all_of(buf.begin() + 40, buf.end(), [](uint8_t b) { return b == 0; }));
}
