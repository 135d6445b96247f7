// Forward specs, addresses and the host.yaml network: section.
#include "support/fixtures.hpp"
#include "tdxctl/net/network_spec.hpp"

#include <catch2/catch.hpp>

using namespace tdx;
using net::parse_port_forward;

TEST_CASE("port forward specs: single, range, guest port") {
  auto a = parse_port_forward("tcp/6443");
  REQUIRE(a);
  CHECK(a->proto == "tcp");
  CHECK(a->first == 6443);
  CHECK(a->last == 6443);
  CHECK(a->guest == 6443);
  auto b = parse_port_forward("tcp/30000-32767");
  REQUIRE(b);
  CHECK(b->first == 30000);
  CHECK(b->last == 32767);
  CHECK(b->text() == "tcp/30000-32767");
  auto c = parse_port_forward("udp/2222:22");
  REQUIRE(c);
  CHECK(c->proto == "udp");
  CHECK(c->guest == 22);
  CHECK(c->text() == "udp/2222:22");
}

TEST_CASE("bad port forward specs name the spec and the rule") {
  for (const char* bad : {"6443", "icmp/1", "tcp/0", "tcp/70000", "tcp/10-5", "tcp/x", "tcp/",
                          "tcp/100-200:300", "tcp/22:0", "tcp/22:"}) {
    auto r = parse_port_forward(bad);
    INFO(bad);
    REQUIRE(!r);
    CHECK(r.error().category == core::Category::invalid_input);
    CHECK(r.error().message.find(std::string("'") + bad + "'") != std::string::npos);
  }
}

TEST_CASE("validate: VM address must be a host in the bridge subnet, forwards must not overlap") {
  net::NetRequest r;
  auto ok = net::validate(r);
  REQUIRE(ok);
  CHECK(ok->bridge_address.network_text() == "192.168.100.0/24");
  CHECK(net::ipv4_text(ok->vm_address) == "192.168.100.2");
  r.vm_address = "10.0.0.2";
  CHECK(net::validate(r).error().message.find("not a host address in the bridge subnet 192.168.100.0/24") !=
        std::string::npos);
  r.vm_address = "192.168.100.1";
  CHECK(net::validate(r).error().message.find("bridge's own address") != std::string::npos);
  r.vm_address = "192.168.100.255";
  CHECK(!net::validate(r));
  r = {};
  r.forwards = {"tcp/30000-32767", "tcp/30443"};
  CHECK(net::validate(r).error().message.find("overlap") != std::string::npos);
  r.forwards = {"tcp/30000-32767", "udp/30443"};
  CHECK(net::validate(r));
  r = {};
  r.bridge = "a-name-that-is-too-long";
  CHECK(net::validate(r).error().code == "net.bad_name");
  r = {};
  r.bridge_address = "192.168.100.1";
  CHECK(net::validate(r).error().message.find("no prefix length") != std::string::npos);
}

TEST_CASE("host.yaml network: section, with every bad key reported by line") {
  core::TempDir dir;
  test::put(dir.path(), "host.yaml",
            "td:\n  name: x\nnetwork:\n  mode: bridge\n  bridge: br-test\n  bridge_address: 10.9.0.1/24\n"
            "  vm_address: 10.9.0.2\n  public_interface: eth7\n  forwards: [tcp/6443, udp/51820]\n");
  net::NetRequest r;
  net::load_network_section(dir / "host.yaml", r);
  CHECK(r.bridge == "br-test");
  CHECK(r.bridge_address == "10.9.0.1/24");
  CHECK(r.public_interface == "eth7");
  CHECK(r.forwards == std::vector<std::string>{"tcp/6443", "udp/51820"});

  test::put(dir.path(), "bad.yaml",
            "network:\n  mode: slirp\n  brdge: x\n  forwards:\n    - tcp/99999\n");
  net::NetRequest r2;
  try {
    net::load_network_section(dir / "bad.yaml", r2);
    FAIL("expected a failure");
  } catch (const core::Failure& f) {
    const auto& m = f.error().message;
    CHECK(f.error().category == core::Category::invalid_input);
    CHECK(m.find("bad.yaml:2:9: key 'network.mode': expected bridge or macvtap") != std::string::npos);
    CHECK(m.find("bad.yaml:3:3: key 'network.brdge': unknown key") != std::string::npos);
    CHECK(m.find("key 'network.forwards': port forward 'tcp/99999'") != std::string::npos);
  }
}
