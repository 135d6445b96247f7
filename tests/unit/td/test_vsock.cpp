// The vsock CID of a domain, from XML and from libvirt's test driver.
#include "tdxctl/td/vsock.hpp"

#include <catch2/catch.hpp>

using namespace tdx;

TEST_CASE("vsock CID is read from the domain XML", "[td]") {
  auto cid = td::vsock_cid_from_xml(
      "<domain type='kvm'><name>td1</name><devices><vsock model='virtio'><cid auto='no' address='42'/></vsock>"
      "</devices></domain>",
      "td1");
  REQUIRE(cid);
  CHECK(*cid == 42);
  auto none = td::vsock_cid_from_xml("<domain><name>td1</name><devices/></domain>", "td1");
  REQUIRE_FALSE(none);
  CHECK(none.error().category == core::Category::not_ready);
  CHECK_FALSE(td::vsock_cid_from_xml("<domain><devices><vsock><cid address='2'/></vsock></devices></domain>", "x"));
}

TEST_CASE("libvirt test driver: a domain without vsock is a precondition error", "[td]") {
  auto r = td::vsock_cid("test:///default", "test");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == "td.no_vsock");
  auto missing = td::vsock_cid("test:///default", "no-such-td");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == "td.not_found");
}
