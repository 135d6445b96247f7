// core/output: text documents are printed escaped; JSON stays JSON.
#include "tdxctl/core/output.hpp"

#include <catch2/catch.hpp>

#include <sstream>

using namespace tdx;

TEST_CASE("output: emit escapes what a text renderer writes; JSON stays JSON", "[core][output]") {
  std::ostringstream text;
  core::Output(core::OutputFormat::text, text).emit("t/1", {}, [](std::ostream& os) {
    os << "PCK chain        SGX PCK Certificate\x1b]2;owned\x07\n";
  });
  CHECK(text.str() == "PCK chain        SGX PCK Certificate\\x1b]2;owned\\x07\n");
  std::ostringstream json;
  core::Output(core::OutputFormat::json, json).emit("t/1", {{"cn", "a\x1b[2J\xff"}}, {});
  CHECK(json.str().find('\x1b') == std::string::npos);
  CHECK_THAT(json.str(), Catch::Contains("\\u001b[2J"));
}
