// config/: YAML errors name file:line:col and the full key, all at once.
#include "tdxctl/config/yaml_reader.hpp"

#include <catch2/catch.hpp>

using tdx::config::YamlReader;

TEST_CASE("syntax errors name file, line and column") {
  CHECK_THROWS_WITH(YamlReader::parse("td:\n  name: [a\n", "host.yaml"),
                    Catch::StartsWith("host.yaml:3:1: YAML syntax error"));
}

TEST_CASE("every key error is collected with its position") {
  auto reader = YamlReader::parse("td:\n  memory_gib: lots\n  vcpus: 9999\n  colour: red\n",
                                  "host.yaml");
  auto td = reader.root().section("td");
  td.allow_only({"memory_gib", "vcpus", "name"});
  CHECK_FALSE(td.integer("memory_gib", 1, 4096));
  CHECK_FALSE(td.integer("vcpus", 1, 512));
  REQUIRE(reader.errors().size() == 3);
  CHECK(reader.errors()[0] == "host.yaml:4:3: key 'td.colour': unknown key; expected one of: "
                              "memory_gib, vcpus, name");
  CHECK(reader.errors()[1] == "host.yaml:2:15: key 'td.memory_gib': expected an integer, got 'lots'");
  CHECK(reader.errors()[2] == "host.yaml:3:10: key 'td.vcpus': expected an integer in 1..512, got 9999");
  CHECK_THROWS_WITH(reader.check(), Catch::Contains("td.vcpus"));
}

TEST_CASE("values and lists read through") {
  auto reader = YamlReader::parse("a:\n  s: x\n  b: true\n  l: [p, q]\n", "f");
  auto a = reader.root().section("a");
  CHECK(a.str("s") == "x");
  CHECK(a.boolean("b") == true);
  CHECK(a.strings("l") == std::vector<std::string>{"p", "q"});
  CHECK_FALSE(a.str("missing"));
  CHECK_NOTHROW(reader.check());
}

TEST_CASE("a key set twice is an error naming both lines, at any depth") {
  CHECK_THROWS_WITH(YamlReader::parse("td:\n  vcpus: 4\n  name: a\n  vcpus: 8\n", "host.yaml"),
                    "host.yaml:4:3: key 'td.vcpus' is set twice (lines 2 and 4); keep one");
  CHECK_THROWS_WITH(YamlReader::parse("unlock: {retries: 1}\nunlock: {retries: 2}\n", "image.yaml"),
                    Catch::StartsWith("image.yaml:2:1: key 'unlock' is set twice (lines 1 and 2)"));
  CHECK_THROWS_WITH(YamlReader::parse("net:\n  forwards:\n    - {host: 1, host: 2}\n", "host.yaml"),
                    Catch::Contains("key 'net.forwards[0].host' is set twice"));
  // Every duplicate is listed at once.
  try {
    YamlReader::parse("a: 1\nb: 2\na: 3\nb: 4\n", "f.yaml");
    FAIL("no error");
  } catch (const tdx::core::Failure& f) {
    CHECK(f.error().code == "config.duplicate_key");
    CHECK(f.error().category == tdx::core::Category::invalid_input);
    CHECK(f.error().message == "f.yaml:3:1: key 'a' is set twice (lines 1 and 3); keep one\n"
                               "f.yaml:4:1: key 'b' is set twice (lines 2 and 4); keep one");
  }
}

TEST_CASE("the same key in different mappings, and aliases, are not duplicates") {
  CHECK_NOTHROW(YamlReader::parse("a: {name: x}\nb: {name: x}\nl: [{k: 1}, {k: 2}]\n", "f"));
  CHECK_NOTHROW(YamlReader::parse("base: &b {k: 1}\nuse1: *b\nuse2: *b\n", "f"));
  CHECK(tdx::config::duplicate_keys("network:\n  version: 2\n  version: 2\n", "n.yaml").size() == 1);
}
