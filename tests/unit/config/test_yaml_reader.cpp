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
