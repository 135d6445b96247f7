// net/recipes: the pure parts of planning `net up`: the record it starts
// from, and which existing address makes the bridge's subnet unusable.
#include "tdxctl/net/recipes.hpp"

#include <catch2/catch.hpp>

using namespace tdx;

namespace {
net::NetSpec spec_of(net::NetRequest request) {
  request.public_interface = "eth0";
  auto spec = net::validate(request);
  REQUIRE(spec);
  return *spec;
}
net::Ipv4Cidr cidr(const std::string& text) { return *net::parse_cidr(text); }
} // namespace

TEST_CASE("initial_record: a first up records the spec, created facts all false") {
  auto rec = net::initial_record(std::nullopt, spec_of({}));
  CHECK(rec.mode == net::Mode::bridge);
  CHECK(rec.bridge == "br-tdx");
  CHECK(rec.bridge_address == "192.168.100.1/24");
  CHECK(rec.vm_address == "192.168.100.2");
  CHECK(rec.tap == "vmtap0");
  CHECK(rec.public_interface == "eth0");
  CHECK(rec.forwards == std::vector<std::string>{"tcp/6443", "tcp/30000-32767"});
  CHECK_FALSE(rec.created_bridge);
  CHECK_FALSE(rec.ip_forward_previous);
}

TEST_CASE("initial_record: a re-run keeps what the first up created and takes the new forwards") {
  net::NetState old = net::initial_record(std::nullopt, spec_of({}));
  old.created_bridge = old.created_tap = true;
  old.ip_forward_previous = "0";
  net::NetRequest again;
  again.forwards = {"tcp/22"};
  auto rec = net::initial_record(old, spec_of(again));
  CHECK(rec.created_bridge);
  CHECK(rec.created_tap);
  CHECK(rec.ip_forward_previous == "0");
  CHECK(rec.forwards == std::vector<std::string>{"tcp/22"});
}

TEST_CASE("initial_record: up in another shape than the record is refused, naming what is up") {
  auto old = net::initial_record(std::nullopt, spec_of({}));
  net::NetRequest other;
  other.bridge = "br-other";
  try {
    net::initial_record(old, spec_of(other));
    FAIL("no conflict");
  } catch (const core::Failure& f) {
    CHECK(f.error().category == core::Category::not_ready);
    CHECK(f.error().code == "net.already_up");
    CHECK_THAT(f.error().message, Catch::Contains("bridge mode with bridge br-tdx"));
  }
  net::NetRequest macvtap;
  macvtap.mode = net::Mode::macvtap;
  CHECK_THROWS_AS(net::initial_record(old, spec_of(macvtap)), core::Failure);
}

TEST_CASE("conflicting_address: overlaps either way round, the bridge's own address excepted") {
  auto bridge = cidr("192.168.100.1/24");
  std::vector<net::AddressInfo> free = {{"eth0", 2, cidr("10.0.0.5/8")}, {"lo", 1, cidr("127.0.0.1/8")}};
  CHECK_FALSE(net::conflicting_address(free, std::nullopt, bridge));

  // Already on the bridge from an earlier up: not a conflict; elsewhere it is.
  std::vector<net::AddressInfo> own = {{"br-tdx", 7, cidr("192.168.100.1/24")}};
  CHECK_FALSE(net::conflicting_address(own, 7, bridge));
  CHECK(net::conflicting_address(own, std::nullopt, bridge));
  CHECK(net::conflicting_address(own, 8, bridge));
  // Same address, other prefix, on the bridge: a conflict.
  CHECK(net::conflicting_address({{"br-tdx", 7, cidr("192.168.100.1/16")}}, 7, bridge));

  // A wider subnet holding the bridge's, and a narrower one inside it.
  auto wide = net::conflicting_address({{"eth1", 3, cidr("192.168.0.9/16")}}, std::nullopt, bridge);
  REQUIRE(wide);
  CHECK(wide->link == "eth1");
  CHECK(net::conflicting_address({{"eth1", 3, cidr("192.168.100.200/30")}}, std::nullopt, bridge));
  // The first conflict is the one named.
  auto first = net::conflicting_address(
      {{"eth0", 2, cidr("10.0.0.5/8")}, {"a", 4, cidr("192.168.100.9/24")}, {"b", 5, cidr("192.168.100.10/24")}},
      std::nullopt, bridge);
  REQUIRE(first);
  CHECK(first->link == "a");
}
