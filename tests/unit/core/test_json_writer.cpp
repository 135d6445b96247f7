// core::JsonWriter writes what nlohmann's dump() writes for the same tree
// (compact, error_handler replace), for every byte in a string and every
// shape of nesting the reports use; json_from gives that tree back.
#include "tdxctl/core/hex.hpp"
#include "tdxctl/core/json_writer.hpp"

#include <catch2/catch.hpp>

#include <limits>
#include <random>

using namespace tdx;
using core::Json;
using core::JsonWriter;

namespace {

std::string nlohmann_dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

std::string written(const std::function<void(JsonWriter&)>& write) {
  std::string out;
  JsonWriter w(out);
  write(w);
  return out;
}

} // namespace

TEST_CASE("JsonWriter: every single byte in a string is written as nlohmann writes it") {
  for (int b = 0; b < 256; ++b) {
    std::string s = "a" + std::string(1, static_cast<char>(b)) + "z";
    INFO("byte " << b);
    CHECK(written([&](JsonWriter& w) { w.value(s); }) == nlohmann_dump(Json(s)));
  }
}

// json_plain takes blocks of 32 characters at a time, then the rest one by
// one: every byte at every place of strings around those lengths, against
// what nlohmann leaves alone.
TEST_CASE("json_plain: every byte at every place of a block and of the rest") {
  for (size_t len : {1, 31, 32, 33, 64, 70}) {
    for (size_t at = 0; at < len; ++at) {
      for (int b = 0; b < 256; ++b) {
        std::string s(len, 'A');
        s[at] = static_cast<char>(b);
        const bool plain = b >= 0x20 && b < 0x7f && b != '"' && b != '\\';
        INFO("length " << len << ", byte " << b << " at " << at);
        REQUIRE(core::json_plain(s) == plain);
      }
    }
  }
  CHECK(core::json_plain(""));
  CHECK(core::json_plain(std::string(6676, '/')));
}

TEST_CASE("JsonWriter: random byte strings, valid and broken UTF-8, as nlohmann writes them") {
  std::mt19937 rng(17);
  const std::vector<std::string> pieces{"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x94\x92", "\xff", "\xc3", "\"", "\\",
                                        "\x7f", "\n", "plain", "/", "\x01"};
  for (int i = 0; i < 500; ++i) {
    std::string s;
    for (int n = static_cast<int>(rng() % 8); n > 0; --n) s += pieces[rng() % pieces.size()];
    INFO("case " << i);
    CHECK(written([&](JsonWriter& w) { w.begin_object().field(s, s).end_object(); }) ==
          nlohmann_dump(Json{{s, s}}));
  }
}

TEST_CASE("JsonWriter: numbers at their limits, booleans, empty and nested containers") {
  auto out = written([](JsonWriter& w) {
    w.begin_object()
        .field("i64min", std::numeric_limits<int64_t>::min())
        .field("u64max", std::numeric_limits<uint64_t>::max())
        .field("u8", uint8_t{255})
        .field("neg", -1)
        .field("zero", 0u)
        .field("t", true)
        .field("f", false)
        .field("list", std::vector<std::string>{"a", "b"})
        .field("none", std::vector<std::string>{})
        .key("empty")
        .begin_object()
        .end_object()
        .key("nested")
        .begin_array()
        .begin_object()
        .field("k", "v")
        .end_object()
        .begin_array()
        .end_array()
        .value(uint16_t{7})
        .end_array()
        .end_object();
  });
  Json tree{{"i64min", std::numeric_limits<int64_t>::min()},
            {"u64max", std::numeric_limits<uint64_t>::max()},
            {"u8", uint8_t{255}},
            {"neg", -1},
            {"zero", 0u},
            {"t", true},
            {"f", false},
            {"list", {"a", "b"}},
            {"none", Json::array()},
            {"empty", Json::object()},
            {"nested", {Json{{"k", "v"}}, Json::array(), 7}}};
  CHECK(out == nlohmann_dump(tree));
}

TEST_CASE("json_from: the tree of what a writer writes, members in written order") {
  Json j = core::json_from([](JsonWriter& w) { w.begin_object().field("z", 1).field("a", "x").end_object(); });
  CHECK(j.dump() == R"({"z":1,"a":"x"})");
}

TEST_CASE("JsonWriter::hex writes what to_hex gives, quoted, as a value and as a member") {
  std::vector<uint8_t> bytes(256);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i);
  std::string out;
  core::JsonWriter w(out);
  w.begin_object().hex_field("all", bytes).hex_field("none", {}).key("list").begin_array();
  w.hex(std::span<const uint8_t>(bytes).first(3)).hex(std::span<const uint8_t>(bytes).last(2)).end_array().end_object();
  auto expect = core::Json{{"all", core::to_hex(bytes)},
                           {"none", ""},
                           {"list", {"000102", "feff"}}};
  CHECK(out == expect.dump());
}
