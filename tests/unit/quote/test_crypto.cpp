// ECDSA P-256 under raw keys: what a quote's attestation key and signature
// are. Keys made here with OpenSSL; the kept keys (Reuse::kept) must answer
// exactly as keys made afresh, for more keys than a thread keeps.
#include "tdxctl/quote/crypto.hpp"

#include <catch2/catch.hpp>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <functional>
#include <string>
#include <cstdio>
#include <ctime>
#include <vector>

using namespace tdx;

namespace {

struct Signer {
  quote::PkeyPtr key;
  std::array<uint8_t, 64> xy{};
};

Signer make_signer() {
  Signer s;
  s.key.reset(EVP_EC_gen("P-256"));
  REQUIRE(s.key);
  std::array<uint8_t, 65> point{};
  size_t len = 0;
  REQUIRE(EVP_PKEY_get_octet_string_param(s.key.get(), OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point.data(), point.size(),
                                          &len) == 1);
  REQUIRE(len == 65);
  std::copy(point.begin() + 1, point.end(), s.xy.begin());
  return s;
}

// A raw r||s signature over message's SHA-256.
std::array<uint8_t, 64> sign(const Signer& s, const std::string& message) {
  auto digest = quote::sha256(std::span(reinterpret_cast<const uint8_t*>(message.data()), message.size()));
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(s.key.get(), nullptr);
  REQUIRE(ctx);
  REQUIRE(EVP_PKEY_sign_init(ctx) == 1);
  std::vector<uint8_t> der(80);
  size_t der_len = der.size();
  REQUIRE(EVP_PKEY_sign(ctx, der.data(), &der_len, digest.data(), digest.size()) == 1);
  EVP_PKEY_CTX_free(ctx);
  const unsigned char* p = der.data();
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len));
  REQUIRE(sig);
  std::array<uint8_t, 64> raw{};
  REQUIRE(BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw.data(), 32) == 32);
  REQUIRE(BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw.data() + 32, 32) == 32);
  ECDSA_SIG_free(sig);
  return raw;
}

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

} // namespace

TEST_CASE("P-256 under raw keys: kept keys answer as fresh ones, for more keys than a thread keeps", "[quote]") {
  // Six signers: more than the four keys a thread keeps, so entries are
  // replaced while the signers take turns.
  std::vector<Signer> signers;
  for (int i = 0; i < 6; ++i) signers.push_back(make_signer());
  const std::string message = "the signed region of a quote";
  std::vector<std::array<uint8_t, 64>> sigs;
  for (const auto& s : signers) sigs.push_back(sign(s, message));

  for (int round = 0; round < 3; ++round) {
    for (size_t i = 0; i < signers.size(); ++i) {
      INFO("round " << round << " signer " << i);
      for (auto reuse : {quote::Reuse::once, quote::Reuse::kept}) {
        auto ok = quote::verify_raw_ecdsa_p256(signers[i].xy, bytes(message), sigs[i], reuse);
        REQUIRE(ok.has_value());
        CHECK(*ok);
        // Another signer's signature, another message, a changed byte: no.
        auto other = quote::verify_raw_ecdsa_p256(signers[i].xy, bytes(message), sigs[(i + 1) % sigs.size()], reuse);
        REQUIRE(other.has_value());
        CHECK_FALSE(*other);
        CHECK(quote::verify_raw_ecdsa_p256(signers[i].xy, bytes(message + "!"), sigs[i], reuse) ==
              std::optional(false));
        auto flipped = sigs[i];
        flipped[40] ^= 0x01;
        CHECK(quote::verify_raw_ecdsa_p256(signers[i].xy, bytes(message), flipped, reuse) == std::optional(false));
      }
    }
  }
}

TEST_CASE("P-256 under raw keys: bytes that are not a point are refused, and never kept", "[quote]") {
  auto signer = make_signer();
  const std::string message = "message";
  auto sig = sign(signer, message);
  auto off_curve = signer.xy;
  off_curve[63] ^= 0x01; // y changed: (x, y') is not on the curve
  std::array<uint8_t, 64> zero{};
  for (auto reuse : {quote::Reuse::once, quote::Reuse::kept}) {
    CHECK_FALSE(quote::verify_raw_ecdsa_p256(off_curve, bytes(message), sig, reuse).has_value());
    CHECK_FALSE(quote::verify_raw_ecdsa_p256(zero, bytes(message), sig, reuse).has_value());
    // The good key right after, and the bad one again: still refused.
    CHECK(quote::verify_raw_ecdsa_p256(signer.xy, bytes(message), sig, reuse) == std::optional(true));
    CHECK_FALSE(quote::verify_raw_ecdsa_p256(off_curve, bytes(message), sig, reuse).has_value());
  }
}

// The raw r||s is DER-encoded for OpenSSL, which refuses any encoding but the
// minimal one: values with the top bit set (a 0x00 pad), with it clear, and
// with leading zero bytes (shorter INTEGERs) must all verify. Signing until
// each shape has been seen for r and for s (a leading zero byte comes about
// once in 128 signatures) covers them with real signatures.
TEST_CASE("P-256 under raw keys: every shape of r and s verifies", "[quote]") {
  auto signer = make_signer();
  std::array<bool, 3> seen_r{}, seen_s{}; // top bit set, top bit clear, leading zero byte
  auto shape = [](const uint8_t* v) { return v[0] == 0 ? 2 : (v[0] & 0x80) ? 0 : 1; };
  int n = 0;
  for (; n < 20000 && !(std::ranges::all_of(seen_r, std::identity{}) && std::ranges::all_of(seen_s, std::identity{}));
       ++n) {
    const std::string message = "message " + std::to_string(n);
    auto sig = sign(signer, message);
    seen_r[static_cast<size_t>(shape(sig.data()))] = true;
    seen_s[static_cast<size_t>(shape(sig.data() + 32))] = true;
    INFO("signature " << n);
    for (auto reuse : {quote::Reuse::once, quote::Reuse::kept}) {
      CHECK(quote::verify_raw_ecdsa_p256(signer.xy, bytes(message), sig, reuse) == std::optional(true));
      CHECK(quote::verify_raw_ecdsa_p256(signer.xy, bytes(message + "."), sig, reuse) == std::optional(false));
    }
  }
  INFO("after " << n << " signatures");
  CHECK(std::ranges::all_of(seen_r, std::identity{}));
  CHECK(std::ranges::all_of(seen_s, std::identity{}));
  // r = s = 0 is a valid encoding of an invalid signature: refused.
  std::array<uint8_t, 64> zero{};
  CHECK(quote::verify_raw_ecdsa_p256(signer.xy, bytes("message 0"), zero, quote::Reuse::kept) == std::optional(false));
}

// Report dates are written digit by digit; the reference is the C library's
// own calendar (gmtime_r), over every era a time_t from hostile collateral
// can name: before year 1000 (zero-padded), the years to 9999, and past them.
TEST_CASE("format_time writes what gmtime_r's calendar gives, for any time", "[quote]") {
  auto reference = [](time_t t) {
    struct tm tm {};
    REQUIRE(gmtime_r(&t, &tm));
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec);
    return std::string(buf);
  };
  std::vector<time_t> times = {0, 1, 59, 60, 86399, 86400, 951782400 /* 2000-02-29 */, 1750809600,
                               253402300799 /* 9999-12-31T23:59:59 */, 253402300800, -1, -62135596800,
                               -62167219200 /* 0000-01-01 */, 300000000000};
  uint64_t x = 0x9e3779b97f4a7c15;
  for (int i = 0; i < 20000; ++i) {
    x = x * 6364136223846793005 + 1442695040888963407;
    times.push_back(static_cast<time_t>(x >> 26) - (time_t{1} << 36)); // about 4000 years either side of 1970
  }
  for (time_t t : times) {
    INFO("t = " << t);
    auto text = quote::format_time_text(t);
    REQUIRE(std::string(text.view()) == reference(t));
    CHECK(quote::format_time(t) == reference(t));
  }
}
