// to_yaml: what kubectl reads back is the JSON it came from, strings stay
// strings, and comment text cannot escape into the document.
#include "tdxctl/config/yaml_writer.hpp"

#include <catch2/catch.hpp>
#include <yaml-cpp/yaml.h>

using namespace tdx;

TEST_CASE("to_yaml round-trips through a YAML reader, strings quoted, order kept") {
  core::Json j = {{"b", "true"}, {"a", {{"n", 3}, {"on", true}, {"q", "100Gi"}, {"hex", "0x10"}}},
                  {"list", {"x", 1}}, {"empty", core::Json::object()}};
  auto text = config::to_yaml(j);
  auto y = YAML::Load(text);
  CHECK(y["b"].Tag() == "!"); // quoted: never the boolean true
  CHECK(y["b"].as<std::string>() == "true");
  CHECK(y["a"]["n"].as<int>() == 3);
  CHECK(y["a"]["on"].as<bool>() == true);
  CHECK(y["a"]["hex"].Tag() == "!");
  CHECK(y["list"][0].as<std::string>() == "x");
  CHECK(y["empty"].IsMap());
  CHECK(y["empty"].size() == 0);
  CHECK(text.find("b:") < text.find("a:"));
}

TEST_CASE("to_yaml comments: every line of a comment stays a comment") {
  auto text = config::to_yaml(core::Json{{"k", "v"}}, {"one", "two\nkind: Secret", ""});
  CHECK(text.starts_with("# one\n# two\n# kind: Secret\n#\n"));
  auto y = YAML::Load(text);
  CHECK_FALSE(y["kind"]);
  CHECK(y["k"].as<std::string>() == "v");
}
