// The JSON-lines input of `quote verify --jsonl`: a line that is a plain
// string is taken as it stands, every other line goes through the JSON
// parser; both must give what the parser alone gives, and a line that is not
// a string or a {"name", "quote"} object is refused by its number.
#include "tdxctl/quote/batch.hpp"

#include <catch2/catch.hpp>

using namespace tdx;

namespace {

std::vector<std::pair<std::string, std::string>> read(std::string_view text) {
  std::deque<std::string> unescaped;
  auto inputs = core::value_or_throw(quote::read_jsonl_inputs(text, "stdin", unescaped));
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& i : inputs) out.emplace_back(i.name, std::string(i.content));
  return out;
}

} // namespace

TEST_CASE("quote verify --jsonl: plain strings, escapes, objects and blank lines", "[quote]") {
  std::string text = "\"QUJD\"\n"                         // 1: plain
                     "  \"QUJD\"  \r\n"                    // 2: JSON whitespace around, CRLF
                     "\n"                                  // 3: blank
                     "\"Q\\u0055JD\"\n"                    // 4: an escape: the parser's U
                     "\"QU\\/JD\"\n"                       // 5: an escaped solidus
                     "{\"name\": \"a.bin\", \"quote\": \"QUJD\"}\n" // 6: object with a name
                     "{\"quote\": \"RUZH\"}\n"             // 7: object without
                     " \t \n"                              // 8: blank
                     "\"\"";                               // 9: empty string, no final newline
  auto got = read(text);
  std::vector<std::pair<std::string, std::string>> want = {
      {"stdin:1", "QUJD"}, {"stdin:2", "QUJD"},  {"stdin:4", "QUJD"}, {"stdin:5", "QU/JD"},
      {"a.bin", "QUJD"},   {"stdin:7", "RUZH"}, {"stdin:9", ""}};
  CHECK(got == want);
}

TEST_CASE("quote verify --jsonl: what is not a JSON string or object is refused by its line", "[quote]") {
  for (std::string bad : {"\"QUJD", "QUJD\"", "\"QU\"JD\"", "\"QU\tJD\"", "\"QU\\JD\"", "\f\"QUJD\"", "[\"QUJD\"]",
                          "{\"name\": \"x\"}", "\"\xff\xfe\""}) {
    INFO(bad);
    std::deque<std::string> unescaped;
    const std::string text = "\"QUJD\"\n\n" + bad + "\n";
    auto r = quote::read_jsonl_inputs(text, "stdin", unescaped);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::StartsWith("stdin:3: expected a JSON string"));
  }
}
