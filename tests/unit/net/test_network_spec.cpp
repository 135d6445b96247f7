// Forward specs, addresses and the host.yaml network: section.
#include "support/fixtures.hpp"
#include "tdxctl/net/network_spec.hpp"
#include "tdxctl/up/host_file.hpp"

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
  r = {};
  r.mode = net::Mode::none; // a TD without a NIC: nothing for net up to build
  CHECK(net::validate(r).error().code == "net.bad_mode");
}

TEST_CASE("host.yaml network: section, with every bad key reported by line") {
  core::TempDir dir;
  test::put(dir.path(), "host.yaml",
            "td:\n  name: x\nnetwork:\n  mode: bridge\n  bridge: br-test\n  bridge_address: 10.9.0.1/24\n"
            "  vm_address: 10.9.0.2\n  public_interface: eth7\n  forwards: [tcp/6443, udp/51820]\n");
  auto r = *up::load_host_file(dir / "host.yaml", up::HostFileUse::network).network;
  CHECK(r.bridge == "br-test");
  CHECK(r.bridge_address == "10.9.0.1/24");
  CHECK(r.public_interface == "eth7");
  CHECK(r.forwards == std::vector<std::string>{"tcp/6443", "udp/51820"});

  test::put(dir.path(), "bad.yaml",
            "network:\n  mode: slirp\n  brdge: x\n  forwards:\n    - tcp/99999\n");
  try {
    up::load_host_file(dir / "bad.yaml", up::HostFileUse::network);
    FAIL("expected a failure");
  } catch (const core::Failure& f) {
    const auto& m = f.error().message;
    CHECK(f.error().category == core::Category::invalid_input);
    CHECK(m.find("bad.yaml:2:9: key 'network.mode': expected bridge or macvtap") != std::string::npos);
    CHECK(m.find("bad.yaml:3:3: key 'network.brdge': unknown key") != std::string::npos);
    CHECK(m.find("key 'network.forwards': port forward 'tcp/99999'") != std::string::npos);
  }
}

TEST_CASE("interface names: only kernel-valid names that cannot change a rule, exit 2 naming the value") {
  for (const char* good : {"br-tdx", "eth0", "eth0.100", "tap_1", "a", "ABCDEFGHIJKLMNO"})
    CHECK(net::valid_ifname(good));
  // The review's injection, then quoting, comment, separators, braces,
  // whitespace, a control byte, UTF-8, the reserved names and 16 bytes.
  for (const std::string bad : {"x\"accept#", "x\" accept", "a;b", "a#b", "a{b", "a}b", "a b", "a\tb", "a/b",
                                "a:b", "a\\b", "a'b", "a$b", "x\x1b[2J", "br\xc3\xa9", ".", "..", "",
                                "ABCDEFGHIJKLMNOP"}) {
    INFO(bad);
    CHECK_FALSE(net::valid_ifname(bad));
    for (auto field : {&net::NetRequest::bridge, &net::NetRequest::tap, &net::NetRequest::public_interface}) {
      net::NetRequest r;
      r.*field = bad;
      if (bad.empty() && field == &net::NetRequest::public_interface) continue; // empty: the default route's
      auto v = net::validate(r);
      REQUIRE_FALSE(v);
      CHECK(v.error().code == "net.bad_name");
      CHECK(v.error().category == core::Category::invalid_input);
    }
    net::NetRequest m;
    m.mode = net::Mode::macvtap;
    m.macvtap = bad;
    CHECK_FALSE(net::validate(m));
  }
  net::NetRequest r;
  r.bridge = "x\x1b[2J";
  // The refused name is shown without its terminal escape.
  CHECK(net::validate(r).error().message == "bridge 'x\\x1b[2J' is not a valid interface name");
}

TEST_CASE("host.yaml network: an injected interface name is refused at its line") {
  core::TempDir dir;
  test::put(dir.path(), "host.yaml", "network:\n  bridge: 'x\"accept#'\n  tap: ok0\n  public_interface: 'eth0 '\n");
  try {
    up::load_host_file(dir / "host.yaml", up::HostFileUse::network);
    FAIL("expected a failure");
  } catch (const core::Failure& f) {
    CHECK(f.error().category == core::Category::invalid_input);
    const auto& m = f.error().message;
    CHECK(m.find("host.yaml:2:11: key 'network.bridge': bridge 'x\"accept#' is not a valid interface name") !=
          std::string::npos);
    CHECK(m.find("host.yaml:4:21: key 'network.public_interface'") != std::string::npos);
  }
}

TEST_CASE("forward overlap check: sort and sweep, exact on 40k forwards") {
  // 40,000 single-port forwards per protocol, written in a scrambled order:
  // no overlap, so every one is checked against its neighbours.
  net::NetRequest r;
  r.forwards.clear();
  for (int i = 0; i < 40000; ++i) {
    int port = 1 + (i * 7919) % 40000; // 7919 is prime to 40000: a permutation of 1..40000
    r.forwards.push_back((i % 2 ? "udp/" : "tcp/") + std::to_string(port));
  }
  // tcp and udp each get 20,000 distinct ports; the same port in both is fine.
  auto ok = net::validate(r);
  INFO((ok ? std::string() : ok.error().message));
  REQUIRE(ok);
  CHECK(ok->forwards.size() == 40000);
  CHECK(ok->forwards.front().text() == r.forwards.front()); // the order given is kept

  // One range far from its overlap partner in the input, hidden in the middle.
  auto with_range = r;
  with_range.forwards.push_back("tcp/50000-50010");
  with_range.forwards.insert(with_range.forwards.begin() + 20000, "tcp/50010");
  auto bad = net::validate(with_range);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message == "port forwards tcp/50010 and tcp/50000-50010 overlap");

  // A long range swallowing a later short one that does not touch its neighbour.
  std::vector<net::PortForward> fs;
  for (auto spec : {"tcp/100-900", "tcp/200", "udp/150", "tcp/950", "tcp/901"})
    fs.push_back(*net::parse_port_forward(spec));
  auto nested = net::check_overlaps(fs);
  REQUIRE_FALSE(nested);
  CHECK(nested.error().message == "port forwards tcp/100-900 and tcp/200 overlap");
  fs.erase(fs.begin() + 1);
  CHECK(net::check_overlaps(fs));
  fs.push_back(*net::parse_port_forward("tcp/850-860"));
  CHECK(net::check_overlaps(fs).error().message == "port forwards tcp/100-900 and tcp/850-860 overlap");
}
