// Quote parser edge cases: malformed input is an error naming the field and
// byte offset; encodings are detected; padding is accepted.
#include "support/fixtures.hpp"

#include "tdxctl/core/fs.hpp"
#include "tdxctl/core/hex.hpp"
#include "tdxctl/quote/quote.hpp"
#include "tdxctl/quote/verify.hpp"

#include <catch2/catch.hpp>

#include <cstring>

using namespace tdx;

namespace {
std::string v4() {
  return core::value_or_throw(core::read_file(test::testdata() / "quotes/tdx-v4-b0c06f-uptodate/quote.bin"));
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
  // Whitespace inside base64 (a wrapped file) and around a JSON string's quotes.
  std::string wrapped = " \"";
  for (size_t i = 0; i < b64.size(); i += 76) wrapped += b64.substr(i, 76) + "\r\n";
  wrapped += "\" \n";
  const core::Bytes want(bin.begin(), bin.end());
  CHECK(core::value_or_throw(quote::decode_quote_input(wrapped, InputFormat::automatic)) == want);
  CHECK(core::value_or_throw(quote::decode_quote_input(wrapped, InputFormat::base64)) == want);
  // A bad character is named at its byte offset in the input as given.
  std::string bad = wrapped;
  const size_t at = bad.find('\n', 80) + 5;
  bad[at] = '*';
  auto e = quote::decode_quote_input(bad, InputFormat::base64);
  REQUIRE_FALSE(e);
  CHECK_THAT(e.error().message, Catch::Contains("position " + std::to_string(at)));
  CHECK_FALSE(quote::decode_quote_input("zz" + hex, InputFormat::hex));
}

TEST_CASE("a TD 1.5 Ex body (type 4) parses every field and verification calls it unsupported", "[quote]") {
  // No real type-4 quote exists: widen the real v5 quote's TD 1.5 body by the
  // 237 bytes of endorsements (a distinct value per field) and retype it.
  auto dir = test::testdata() / "quotes/tdx-v5-90c06f-uptodate";
  auto raw = core::value_or_throw(core::read_file(dir / "quote.bin"));
  std::string ex;
  const std::pair<size_t, char> fields[] = {{1, 1}, {32, 2}, {48, 3}, {48, 4}, {8, 5}, {16, 6}, {16, 7}, {12, 8}, {48, 9}, {8, 10}};
  for (auto [size, value] : fields) ex.append(size, value);
  REQUIRE(ex.size() == 237);
  std::string q = raw.substr(0, 54 + 648) + ex + raw.substr(54 + 648);
  q[48] = 4;
  q[49] = 0;
  uint32_t size = 885;
  std::memcpy(q.data() + 50, &size, 4);
  auto parsed = core::value_or_throw(quote::parse_quote(core::as_bytes(q)));
  CHECK(parsed.body_type == 4);
  CHECK(parsed.signed_len == 54 + 885);
  REQUIRE(parsed.td);
  REQUIRE(parsed.td->tee_tcb_svn2);
  REQUIRE(parsed.td->ex);
  const auto& x = *parsed.td->ex;
  CHECK(x.vmid == 1);
  CHECK(x.td_id == quote::Blob<32>{2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2});
  auto j = quote::quote_to_json(parsed)["td_report"]["td15ex"];
  auto filled = [](size_t n, int v) { return core::to_hex(std::vector<uint8_t>(n, static_cast<uint8_t>(v))); };
  CHECK(j["vmid"] == 1);
  CHECK(j["td_id"] == filled(32, 2));
  CHECK(j["dev_info"] == filled(48, 3));
  CHECK(j["init_serv_td_hash"] == filled(48, 4));
  CHECK(j["init_serv_td_attributes"] == filled(8, 5));
  CHECK(j["init_cpu_svn"] == filled(16, 6));
  CHECK(j["init_tee_tcb_svn"] == filled(16, 7));
  CHECK(j["init_tee_fmspc"] == filled(12, 8));
  CHECK(j["cur_serv_td_hash"] == filled(48, 9));
  CHECK(j["cur_serv_td_attributes"] == filled(8, 10));
  // The TD 1.5 fields before the endorsements are the real quote's.
  auto real = core::value_or_throw(quote::parse_quote(core::as_bytes(raw)));
  CHECK(parsed.td->to_json()["mr_td"] == real.td->to_json()["mr_td"]);
  CHECK(*parsed.td->tee_tcb_svn2 == *real.td->tee_tcb_svn2);
  // A type-4 descriptor with the TD 1.5 size is still a size error.
  auto wrong = q;
  size = 648;
  std::memcpy(wrong.data() + 50, &size, 4);
  CHECK(parse_error(wrong).code == "quote.bad_body_size");

  quote::VerifyOptions o;
  o.at = 1772323200;
  auto v = core::value_or_throw(quote::Verifier::create(quote::Trust::intel(),
                                                        core::value_or_throw(quote::load_collateral_dir(dir)), o))
               ->verify(parsed);
  REQUIRE_FALSE(v.verified);
  CHECK(v.failure->step == "quote");
  CHECK(v.status == "UNSUPPORTED_QUOTE_FORMAT");
  CHECK_THAT(v.failure->message, Catch::Contains("body type 4"));
}
