// Quote parser edge cases: malformed input is an error naming the field and
// byte offset; encodings are detected; padding is accepted.
#include "support/fixtures.hpp"

#include "tdxctl/core/fs.hpp"
#include "tdxctl/core/hex.hpp"
#include "tdxctl/quote/quote.hpp"

#include <catch2/catch.hpp>

using namespace tdx;

namespace {
std::string v4() {
  return core::value_or_throw(core::read_file(test::shared_testdata() / "quotes/tdx-v4-b0c06f-uptodate/quote.bin"));
}
core::Error parse_error(const std::string& bytes) {
  auto r = quote::parse_quote(core::as_bytes(bytes));
  REQUIRE_FALSE(r);
  return r.error();
}
} // namespace

TEST_CASE("truncation names the field and the offset", "[quote]") {
  auto raw = v4();
  CHECK_THAT(parse_error(raw.substr(0, 1)).message, Catch::Contains("header.version") && Catch::Contains("offset 0"));
  CHECK_THAT(parse_error(raw.substr(0, 100)).message, Catch::Contains("TD report body") && Catch::Contains("offset 48"));
  auto e = parse_error(raw.substr(0, 1000));
  CHECK(e.code == "quote.length_overrun");
  CHECK_THAT(e.message, Catch::Contains("sig_data_len at byte offset 632"));
  // Every prefix fails cleanly (and under ASan, without reading past the end).
  for (size_t n = 0; n < 1258; n += 3) CHECK_FALSE(quote::parse_quote(core::as_bytes(std::string_view(raw).substr(0, n))));
}

TEST_CASE("wrong version, key type, TEE type and vendor are rejected", "[quote]") {
  auto raw = v4();
  auto with = [&](size_t off, char value) {
    auto copy = raw;
    copy[off] = value;
    return parse_error(copy);
  };
  CHECK(with(0, 6).code == "quote.unsupported_version");
  CHECK(with(2, 3).code == "quote.unsupported_key_type");
  auto tee = with(4, 0x00);
  CHECK(tee.code == "quote.unsupported_tee_type");
  CHECK_THAT(tee.message, Catch::Contains("offset 4"));
  CHECK(with(12, 0).code == "quote.unknown_qe_vendor");
  CHECK(with(764, 5).code == "quote.unsupported_cert_type");
}

TEST_CASE("inner lengths must match the bytes present", "[quote]") {
  auto raw = v4();
  auto copy = raw;
  copy[1218] = static_cast<char>(copy[1218] + 1); // QE auth data size 32 -> 33
  auto e = parse_error(copy);
  CHECK(e.category == core::Category::invalid_input);
  CHECK_THAT(e.message, Catch::Contains("offset"));
}

TEST_CASE("padding after the signature data is accepted and counted", "[quote]") {
  auto q = core::value_or_throw(quote::parse_quote(core::as_bytes(v4())));
  CHECK(q.trailing_bytes == 70);
  CHECK_FALSE(q.trailing_nonzero);
  CHECK(q.cert_data.back() != '\0');
}

TEST_CASE("input encodings are detected", "[quote]") {
  auto raw = v4();
  auto bin = core::as_bytes(raw);
  auto b64 = core::base64_encode(bin);
  auto hex = core::to_hex(bin);
  using quote::InputFormat;
  CHECK(core::value_or_throw(quote::decode_quote_input(raw, InputFormat::automatic)).size() == raw.size());
  CHECK(core::value_or_throw(quote::decode_quote_input(b64 + "\n", InputFormat::automatic)).size() == raw.size());
  CHECK(core::value_or_throw(quote::decode_quote_input("\"" + b64 + "\"", InputFormat::automatic)).size() == raw.size());
  CHECK(core::value_or_throw(quote::decode_quote_input(hex, InputFormat::automatic)).size() == raw.size());
  CHECK_FALSE(quote::decode_quote_input("zz" + hex, InputFormat::hex));
}
