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

TEST_CASE("to_yaml comments: every line of a comment stays a comment, whatever breaks it") {
  auto text = config::to_yaml(core::Json{{"k", "v"}},
                              {"one", "two\nkind: Secret", "", "cr\rcr: 1", "nel\xC2\x85nel: 1",
                               "ls\xE2\x80\xA8ls: 1", "ps\xE2\x80\xA9ps: 1"});
  CHECK(text.starts_with("# one\n# two\n# kind: Secret\n#\n# cr\n# cr: 1\n# nel\n# nel: 1\n# ls\n# ls: 1\n"
                         "# ps\n# ps: 1\n"));
  auto y = YAML::Load(text);
  CHECK_FALSE(y["kind"]);
  CHECK(y["k"].as<std::string>() == "v");
}

TEST_CASE("to_yaml: keys a YAML 1.1 reader would misread are quoted; non-ASCII values escaped") {
  auto text = config::to_yaml(core::Json{{"on", 1}, {"kubevirt.io/domain", "td"}, {"p", "a\xE2\x80\xA8" "b"}});
  CHECK(text.find("\"on\": 1") != std::string::npos);
  CHECK(text.find("kubevirt.io/domain: \"td\"") != std::string::npos);
  CHECK(text.find("\\u2028") != std::string::npos);
  CHECK(YAML::Load(text)["p"].as<std::string>() == "a\xE2\x80\xA8" "b");
}
