// core/json_limits: the nesting bound on JSON read from the network.
#include "tdxctl/core/json_limits.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace tdx;

TEST_CASE("json limits: depth is counted outside strings only", "[core][json]") {
  CHECK(core::json_depth_exceeded_at(R"({"a": [1, {"b": []}]})", 4) == std::string_view::npos);
  CHECK(core::json_depth_exceeded_at(R"({"a": [1, {"b": []}]})", 3) == 16);
  CHECK(core::json_depth_exceeded_at(R"({"a": [1, {"b": []}]})", 2) == 10);
  // Brackets and escaped quotes inside strings are text, not structure.
  CHECK(core::json_depth_exceeded_at(R"(["[[[[", "\"[[[[", "\\"])", 1) == std::string_view::npos);
  CHECK(core::json_depth_exceeded_at(R"(["\\", [[]]])", 2) == 8);
}

TEST_CASE("json limits: 120k nested arrays under a 256 KiB cap are refused by name", "[core][json]") {
  // The reply that overflowed tdxctl-guest's stack (240 KB, issue 14 item 5).
  std::string deep = std::string(120000, '[') + std::string(120000, ']');
  auto doc = core::parse_untrusted_json(deep, "POST https://keys/attest");
  REQUIRE_FALSE(doc);
  CHECK(doc.error().code == "json.too_deep");
  CHECK(doc.error().category == core::Category::invalid_input);
  CHECK(doc.error().message ==
        "POST https://keys/attest: JSON nested deeper than 64 levels at byte offset 64");
  // Unbalanced (never closed) nesting is refused the same way.
  CHECK(core::parse_untrusted_json(std::string(120000, '{'), "x").error().code == "json.too_deep");
}

TEST_CASE("json limits: ordinary documents parse; syntax errors name the offset", "[core][json]") {
  std::string at_limit = std::string(64, '[') + std::string(64, ']');
  CHECK(core::parse_untrusted_json(at_limit, "x"));
  auto ok = core::parse_untrusted_json(R"({"nonce": "00ff", "n": [1, 2]})", "x");
  REQUIRE(ok);
  CHECK((*ok)["nonce"] == "00ff");
  auto bad = core::parse_untrusted_json(R"({"key": "s3cret" x})", "the attestation response");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == "json.syntax");
  CHECK_THAT(bad.error().message, Catch::StartsWith("the attestation response: not valid JSON at byte offset"));
  CHECK(bad.error().message.find("s3cret") == std::string::npos); // never quotes the input
}

TEST_CASE("json limits: a number no double holds is a named error, not an exception", "[core][json]") {
  // Found by scripts/fuzz unlock-json: nlohmann throws out_of_range (not
  // parse_error) for it, which escaped and aborted tdxctl-guest.
  for (const char* text : {R"({"key": "k", "extra": [2.5e1234]})", "1e999", "-1e400"}) {
    INFO(text);
    auto r = core::parse_untrusted_json(text, "the attestation response");
    REQUIRE_FALSE(r);
    CHECK(r.error().code == "json.syntax");
    CHECK(r.error().message == "the attestation response: not valid JSON: a number out of range");
  }
}
