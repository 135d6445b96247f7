// config/host_yaml: the man page's key entries come from the readers' key
// lists and refuse to drift; one rule makes a path absolute.
#include "tdxctl/config/host_yaml.hpp"
#include "tdxctl/core/error.hpp"

#include <catch2/catch.hpp>

using namespace tdx;

namespace {
const std::initializer_list<std::string_view> k_outer = {"a", "b", "inner", "c"};
const std::initializer_list<std::string_view> k_inner = {"x", "y"};
const std::initializer_list<config::SectionKeys> k_sections = {{"s", k_outer}, {"s.inner", k_inner}};
} // namespace

TEST_CASE("document_keys: a key without a text joins the entry before it; a nested mapping has its own", "[config]") {
  auto docs = config::document_keys({{"s.a", "A"}, {"s.c", "C"}, {"s.inner.x", "X"}}, k_sections);
  REQUIRE(docs.size() == 3);
  CHECK(docs[0].keys == std::vector<std::string>{"s.a", "s.b"});
  CHECK(docs[0].text == "A");
  CHECK(docs[1].keys == std::vector<std::string>{"s.c"});
  CHECK(docs[2].keys == std::vector<std::string>{"s.inner.x", "s.inner.y"});
}

TEST_CASE("document_keys: a text for a key no reader accepts, or a section without a first text, stops", "[config]") {
  CHECK_THROWS_WITH(config::document_keys({{"s.a", "A"}, {"s.inner.x", "X"}, {"s.gone", "G"}}, k_sections),
                    Catch::Contains("'s.gone', which no host.yaml reader accepts"));
  CHECK_THROWS_WITH(config::document_keys({{"s.a", "A"}}, k_sections),
                    Catch::Contains("host.yaml key 's.inner.x' has no text"));
}

TEST_CASE("absolute_path: relative against the base, absolute and empty kept", "[config]") {
  CHECK(config::absolute_path("img/td.qcow2", "/etc/tdxctl") == "/etc/tdxctl/img/td.qcow2");
  CHECK(config::absolute_path("../td.qcow2", "/etc/tdxctl") == "/etc/td.qcow2");
  CHECK(config::absolute_path("/var/lib/td.qcow2", "/etc/tdxctl") == "/var/lib/td.qcow2");
  CHECK(config::absolute_path("", "/etc/tdxctl").empty());
  CHECK(config::absolute_path("td.qcow2") == (std::filesystem::current_path() / "td.qcow2").string());
}
