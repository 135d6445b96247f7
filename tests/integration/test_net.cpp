// tdxctl net, for real, inside network namespaces this test creates: a
// "host" namespace with a veth pair as its public interface (the peer in a
// "client" namespace), and a "vm" namespace attached to the bridge by a
// veth. Checks the end state with netlink (ip -j) and iptables-save, and
// sends real TCP traffic from the client through the DNAT to a listener in
// the VM namespace. Namespaces are deleted at the end, even on failure.
#include "support/fixtures.hpp"
#include "tdxctl/core/root.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <functional>
#include <future>
#include <sstream>
#include <thread>

using namespace tdx;
using Json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

core::Completed run(std::vector<std::string> argv) {
  core::Command cmd;
  cmd.argv = std::move(argv);
  cmd.timeout = std::chrono::seconds(60);
  core::RealRunner runner;
  auto done = runner.run(cmd);
  if (!done) throw std::runtime_error(done.error().message);
  return *done;
}

void must(std::vector<std::string> argv) {
  auto r = run(argv);
  if (!r.ok()) throw std::runtime_error(core::describe(core::Command{argv}) + ": " + r.err);
}

std::string unique(const char* role) {
  return std::string("tdxn") + std::to_string(::getpid() % 100000) + role;
}

struct Netns {
  std::string name;
  explicit Netns(std::string n) : name(std::move(n)) {
    run({"ip", "netns", "del", name});
    must({"ip", "netns", "add", name});
    must({"ip", "-n", name, "link", "set", "lo", "up"});
  }
  ~Netns() { run({"ip", "netns", "del", name}); }
  Netns(const Netns&) = delete;
  Netns& operator=(const Netns&) = delete;
  void ip(std::vector<std::string> args) const {
    std::vector<std::string> argv{"ip", "-n", name};
    argv.insert(argv.end(), args.begin(), args.end());
    must(argv);
  }
  core::Completed exec(std::vector<std::string> args) const {
    std::vector<std::string> argv{"ip", "netns", "exec", name};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
  }
};

// Runs tdxctl --root ROOT in namespace `ns` with the namespace's own
// /proc/sys/net bind-mounted at ROOT/proc/sys/net (so ip_forward is that
// namespace's). A bind mount, not a symlink: tdxctl refuses to follow a link
// out of --root. It lives in the mount namespace `ip netns exec` makes for
// the command and goes away with it. `env`: extra NAME=value for tdxctl.
core::Completed tdxctl_in(const Netns& ns, const fs::path& root, std::vector<std::string> args,
                          std::vector<std::string> env = {}) {
  fs::create_directories(root / "proc/sys/net");
  std::vector<std::string> argv{"sh", "-c", "mount --bind /proc/sys/net \"$0\" && exec \"$@\"",
                                (root / "proc/sys/net").string(), "env"};
  argv.insert(argv.end(), env.begin(), env.end());
  argv.insert(argv.end(), {TDXCTL_BINARY, "--root", root.string()});
  argv.insert(argv.end(), args.begin(), args.end());
  return ns.exec(argv);
}

// The host namespace with pub0 (10.77.0.1/24, default route) whose peer cli0
// (10.77.0.2) sits in the client namespace; tdxctl's --root sees the
// namespace's /proc/sys/net (tdxctl_in) and has its own /run.
struct Lab {
  Netns host{unique("h")}, client{unique("c")};
  core::TempDir root;
  Lab() {
    host.ip({"link", "add", "pub0", "type", "veth", "peer", "name", "cli0", "netns", client.name});
    host.ip({"addr", "add", "10.77.0.1/24", "dev", "pub0"});
    host.ip({"link", "set", "pub0", "up"});
    client.ip({"addr", "add", "10.77.0.2/24", "dev", "cli0"});
    client.ip({"link", "set", "cli0", "up"});
    host.ip({"route", "add", "default", "via", "10.77.0.2"});
  }
  core::Completed tdxctl(std::vector<std::string> args, std::vector<std::string> env = {}) const {
    return tdxctl_in(host, root.path(), std::move(args), std::move(env));
  }
  // iptables-save without its "# Generated ... on <time>" comment lines.
  std::string save() const {
    std::istringstream in(host.exec({"iptables-save"}).out);
    std::string line, out;
    while (std::getline(in, line))
      if (!line.starts_with("#")) out += line + "\n";
    return out;
  }
  Json link(const std::string& name) const {
    auto r = host.exec({"ip", "-j", "-d", "addr", "show", "dev", name});
    if (!r.ok()) return Json();
    return Json::parse(r.out).at(0);
  }
  std::string ip_forward() const { return core::trim(host.exec({"cat", "/proc/sys/net/ipv4/ip_forward"}).out); }
  // The "VM": a namespace on the bridge through a veth (a tap has no carrier
  // without QEMU behind it), 192.168.100.2 with the bridge as its gateway.
  std::unique_ptr<Netns> attach_vm() const {
    auto vm = std::make_unique<Netns>(unique("v"));
    host.ip({"link", "add", "vmh0", "type", "veth", "peer", "name", "vm0", "netns", vm->name});
    host.ip({"link", "set", "vmh0", "master", "br-tdx", "up"});
    vm->ip({"addr", "add", "192.168.100.2/24", "dev", "vm0"});
    vm->ip({"link", "set", "vm0", "up"});
    vm->ip({"route", "add", "default", "via", "192.168.100.1"});
    return vm;
  }
};

size_t count(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

int enter(const std::string& ns) {
  int fd = ::open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) return -1;
  ::close(fd);
  return 0;
}

// A one-shot TCP echo ("pong") in namespace `ns` on `port`; the future says
// what it received, or why not. setns() only moves this thread.
std::future<std::string> listen_once(const std::string& ns, uint16_t port, std::promise<void>& ready) {
  return std::async(std::launch::async, [ns, port, &ready]() -> std::string {
    if (enter(ns) != 0) { ready.set_value(); return "setns failed"; }
    int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(s, 1) != 0) {
      ready.set_value();
      return "bind failed";
    }
    ready.set_value();
    pollfd p{s, POLLIN, 0};
    if (::poll(&p, 1, 10000) != 1) { ::close(s); return "no connection within 10 s"; }
    int c = ::accept(s, nullptr, nullptr);
    char buf[16] = {};
    pollfd pc{c, POLLIN, 0};
    ssize_t n = ::poll(&pc, 1, 5000) == 1 ? ::read(c, buf, sizeof buf - 1) : -1;
    (void)!::write(c, "pong", 4);
    ::close(c);
    ::close(s);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "nothing read";
  });
}

// Connects from namespace `ns` to addr:port, sends "ping", returns the reply.
std::string connect_once(const std::string& ns, const std::string& addr, uint16_t port) {
  return std::async(std::launch::async, [&]() -> std::string {
           if (enter(ns) != 0) return "setns failed";
           int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
           sockaddr_in a{};
           a.sin_family = AF_INET;
           a.sin_port = htons(port);
           ::inet_pton(AF_INET, addr.c_str(), &a.sin_addr);
           ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
           pollfd p{s, POLLOUT, 0};
           int err = 0;
           socklen_t len = sizeof err;
           if (::poll(&p, 1, 5000) != 1 || ::getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err) {
             ::close(s);
             return "connect failed";
           }
           (void)!::write(s, "ping", 4);
           char buf[16] = {};
           pollfd r{s, POLLIN, 0};
           ssize_t n = ::poll(&r, 1, 5000) == 1 ? ::read(s, buf, sizeof buf - 1) : -1;
           ::close(s);
           return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "no reply";
         })
      .get();
}

// Real TCP from the client to the public address's `port`, through the
// DNAT, to a listener in the VM namespace, and back.
void check_forward(const Lab& lab, const Netns& vm, uint16_t port) {
  std::promise<void> ready;
  auto got = listen_once(vm.name, port, ready);
  ready.get_future().wait();
  auto start = std::chrono::steady_clock::now();
  auto reply = connect_once(lab.client.name, "10.77.0.1", port);
  auto took = std::chrono::steady_clock::now() - start;
  INFO("port " << port);
  CHECK(reply == "pong");
  CHECK(got.get() == "ping");
  CHECK(took < std::chrono::seconds(5));
}

} // namespace

TEST_CASE("net up/down in a namespace: links, rules once, real traffic through the DNAT, clean teardown") {
  Lab lab;
  // Someone else's rules and a DROP policy: ours must coexist and still work.
  lab.host.exec({"iptables", "-t", "nat", "-A", "PREROUTING", "-p", "tcp", "--dport", "9999", "-j", "ACCEPT"});
  lab.host.exec({"iptables", "-A", "FORWARD", "-o", "nothing0", "-j", "DROP"});
  lab.host.exec({"iptables", "-P", "FORWARD", "DROP"});
  CHECK(lab.ip_forward() == "0");

  auto up = lab.tdxctl({"net", "up", "--tap-user", "nobody", "-o", "json"});
  INFO(up.err);
  REQUIRE(up.exit_status == 0);
  auto doc = Json::parse(up.out);
  CHECK(doc["schema"] == "tdxctl.net.up/1");
  CHECK(doc["changed"] == true);
  CHECK(doc["public_interface"] == "pub0");

  auto br = lab.link("br-tdx");
  CHECK(br["linkinfo"]["info_kind"] == "bridge");
  CHECK(br["addr_info"][0]["local"] == "192.168.100.1");
  CHECK(br["addr_info"][0]["prefixlen"] == 24);
  auto tap = lab.link("vmtap0");
  CHECK(tap["linkinfo"]["info_kind"] == "tun");
  CHECK(tap["master"] == "br-tdx");
  CHECK(lab.host.exec({"cat", "/sys/class/net/vmtap0/owner"}).out ==
        std::to_string(65534) + "\n");
  CHECK(lab.ip_forward() == "1");

  auto again = lab.tdxctl({"net", "up", "--tap-user", "nobody", "-o", "json"});
  REQUIRE(again.exit_status == 0);
  CHECK(Json::parse(again.out)["changed"] == false);
  auto save = lab.save();
  INFO(save);
  CHECK(count(save, "-A PREROUTING -j TDXCTL-PREROUTING") == 1);
  CHECK(count(save, "-A POSTROUTING -j TDXCTL-POSTROUTING") == 1);
  CHECK(count(save, "-A FORWARD -j TDXCTL-FORWARD") == 1);
  CHECK(count(save, "-A TDXCTL-PREROUTING -i pub0 -p tcp -m tcp --dport 6443 -j DNAT --to-destination 192.168.100.2:6443") == 1);
  CHECK(count(save, "--dport 30000:32767 -j DNAT --to-destination 192.168.100.2\n") == 1);
  CHECK(count(save, "-A TDXCTL-POSTROUTING -s 192.168.100.0/24 -o pub0 -j MASQUERADE") == 1);
  CHECK(count(save, "--dport 9999 -j ACCEPT") == 1);

  auto vm = lab.attach_vm();
  for (uint16_t port : {uint16_t{6443}, uint16_t{31234}}) check_forward(lab, *vm, port);
  auto status = lab.tdxctl({"net", "status", "-o", "json"});
  REQUIRE(status.exit_status == 0);
  auto st = Json::parse(status.out);
  CHECK(st["schema"] == "tdxctl.net.status/1");
  CHECK(st["configured"] == true);
  CHECK(st["ip_forward"] == true);
  uint64_t dnat_packets = 0;
  for (const auto& r : st["firewall"]["rules"])
    if (r["chain"] == "TDXCTL-PREROUTING") dnat_packets += r["packets"].get<uint64_t>();
  CHECK(dnat_packets >= 2);

  auto down = lab.tdxctl({"net", "down", "-o", "json"});
  INFO(down.err);
  REQUIRE(down.exit_status == 0);
  CHECK(Json::parse(down.out)["changed"] == true);
  save = lab.save();
  CHECK(save.find("TDXCTL") == std::string::npos);
  CHECK(count(save, "--dport 9999 -j ACCEPT") == 1);
  CHECK(count(save, "-A FORWARD -o nothing0 -j DROP") == 1);
  CHECK(save.find(":FORWARD DROP") != std::string::npos);
  CHECK(lab.link("br-tdx").is_null());
  CHECK(lab.link("vmtap0").is_null());
  CHECK(!lab.link("pub0").is_null());
  CHECK(lab.ip_forward() == "0");
  CHECK(!fs::exists(lab.root.path() / "run/tdxctl/net.json"));
  auto down2 = lab.tdxctl({"net", "down", "-o", "json"});
  CHECK(down2.exit_status == 0);
  CHECK(Json::parse(down2.out)["changed"] == false);
}

TEST_CASE("net up conflicts fail with exit 3 before any change") {
  Lab lab;
  auto before = lab.save();
  auto unchanged = [&] {
    CHECK(lab.save() == before);
    CHECK(lab.link("vmtap0").is_null());
    CHECK(lab.ip_forward() == "0");
    CHECK(!fs::exists(lab.root.path() / "run/tdxctl/net.json"));
  };
  auto missing = lab.tdxctl({"net", "up", "--public-interface", "nope0"});
  CHECK(missing.exit_status == 3);
  CHECK(missing.err.find("public interface nope0 does not exist") != std::string::npos);
  CHECK(lab.link("br-tdx").is_null());
  unchanged();

  auto clash = lab.tdxctl({"net", "up", "--bridge-address", "10.77.0.50/24", "--vm-address", "10.77.0.51"});
  CHECK(clash.exit_status == 3);
  CHECK(clash.err.find("bridge address 10.77.0.50/24 conflicts with 10.77.0.1/24 on pub0") != std::string::npos);
  CHECK(lab.link("br-tdx").is_null());
  unchanged();

  lab.host.ip({"link", "add", "br-tdx", "type", "veth", "peer", "name", "brpeer0"});
  auto kind = lab.tdxctl({"net", "up", "-o", "json"});
  CHECK(kind.exit_status == 3);
  CHECK(Json::parse(kind.out)["message"] == "link br-tdx exists and is a veth, not a bridge");
  unchanged();

  auto bad = lab.tdxctl({"net", "up", "--forward", "tcp/70000"});
  CHECK(bad.exit_status == 2);
  CHECK(bad.err.find("port forward 'tcp/70000'") != std::string::npos);
  unchanged();
}

TEST_CASE("net up --dry-run prints the links and the exact ruleset and changes nothing") {
  Lab lab;
  auto before = lab.save();
  auto r = lab.tdxctl({"--dry-run", "net", "up", "--forward", "tcp/2222:22", "--forward", "udp/51820"});
  INFO(r.err);
  REQUIRE(r.exit_status == 0);
  CHECK(r.out.find("[link] create bridge br-tdx") != std::string::npos);
  CHECK(r.out.find("[link] create tap vmtap0") != std::string::npos);
  CHECK(r.out.find("-A TDXCTL-PREROUTING -i pub0 -p tcp -m tcp --dport 2222 -j DNAT --to-destination 192.168.100.2:22") !=
        std::string::npos);
  CHECK(r.out.find("-A TDXCTL-PREROUTING -i pub0 -p udp -m udp --dport 51820 -j DNAT") != std::string::npos);
  CHECK(r.out.find("-I FORWARD 1 -j TDXCTL-FORWARD") != std::string::npos);
  CHECK(r.out.find("dry run: nothing was changed") != std::string::npos);
  CHECK(lab.save() == before);
  CHECK(lab.link("br-tdx").is_null());
  CHECK(lab.ip_forward() == "0");
  auto j = lab.tdxctl({"-n", "-o", "json", "net", "up"});
  auto doc = Json::parse(j.out);
  CHECK(doc["dry_run"] == true);
  CHECK(doc["ruleset"].get<std::string>().find("COMMIT") != std::string::npos);
}

TEST_CASE("net up from the network section of host.yaml, a bad key exits 2 naming file and line") {
  Lab lab;
  test::put(lab.root.path(), "host.yaml",
            "network:\n  bridge: br-yaml\n  bridge_address: 10.88.0.1/24\n  vm_address: 10.88.0.9\n"
            "  tap: tap-yaml\n  tap_user: nobody\n  forwards: [tcp/8443:443]\n");
  auto r = lab.tdxctl({"net", "up", "-c", (lab.root.path() / "host.yaml").string()});
  INFO(r.err);
  REQUIRE(r.exit_status == 0);
  CHECK(lab.link("br-yaml")["addr_info"][0]["local"] == "10.88.0.1");
  CHECK(lab.link("tap-yaml")["master"] == "br-yaml");
  CHECK(count(lab.save(), "--dport 8443 -j DNAT --to-destination 10.88.0.9:443") == 1);
  REQUIRE(lab.tdxctl({"net", "down"}).exit_status == 0);
  CHECK(lab.link("br-yaml").is_null());
  CHECK(lab.save().find("TDXCTL") == std::string::npos);

  test::put(lab.root.path(), "bad.yaml", "network:\n  vm_adress: 10.88.0.9\n");
  auto bad = lab.tdxctl({"net", "up", "-c", (lab.root.path() / "bad.yaml").string()});
  CHECK(bad.exit_status == 2);
  CHECK(bad.err.find("bad.yaml:2:3: key 'network.vm_adress': unknown key") != std::string::npos);
}

TEST_CASE("net up --mode macvtap: a bridge-mode macvtap on the public interface, its device and MAC") {
  Lab lab;
  auto r = lab.tdxctl({"net", "up", "--mode", "macvtap", "-o", "json"});
  INFO(r.err);
  REQUIRE(r.exit_status == 0);
  auto doc = Json::parse(r.out);
  auto l = lab.link("tdx-macvtap0");
  REQUIRE(!l.is_null());
  CHECK(l["linkinfo"]["info_kind"] == "macvtap");
  CHECK(l["linkinfo"]["info_data"]["mode"] == "bridge");
  CHECK(l["link"] == "pub0");
  CHECK(doc["device"] == "/dev/tap" + std::to_string(l["ifindex"].get<int>()));
  CHECK(doc["mac"] == l["address"]);
  CHECK(Json::parse(lab.tdxctl({"net", "up", "--mode", "macvtap", "-o", "json"}).out)["changed"] == false);
  auto other = lab.tdxctl({"net", "up"});
  CHECK(other.exit_status == 3);
  CHECK(other.err.find("already up in macvtap mode") != std::string::npos);
  REQUIRE(lab.tdxctl({"net", "down"}).exit_status == 0);
  CHECK(lab.link("tdx-macvtap0").is_null());
  CHECK(!lab.link("pub0").is_null());
}

TEST_CASE("net up that cannot write its record fails before any change") {
  Lab lab;
  auto before = lab.save();
  test::put(lab.root.path(), "run", "a file where the /run directory should be\n");
  auto r = lab.tdxctl({"net", "up", "--tap-user", "nobody"});
  INFO(r.err);
  CHECK(r.exit_status == 1);
  CHECK(r.err.find("record what is set up in /run/tdxctl/net.json") != std::string::npos);
  CHECK(lab.link("br-tdx").is_null());
  CHECK(lab.link("vmtap0").is_null());
  CHECK(lab.ip_forward() == "0");
  CHECK(lab.save() == before);
}

namespace {
// A directory with an `iptables-restore` that runs `script` instead, put
// first in tdxctl's PATH: the review's "iptables-restore that exits early".
struct FakeRestore {
  core::TempDir dir;
  explicit FakeRestore(const std::string& script) {
    test::put(dir.path(), "iptables-restore", "#!/bin/sh\n" + script + "\n");
    fs::permissions(dir / "iptables-restore", fs::perms(0755));
  }
  std::string path_env() const { return "PATH=" + dir.path().string() + ":" + std::getenv("PATH"); }
};

std::vector<std::string> many_forwards(int n) {
  std::vector<std::string> args{"net", "up", "--tap-user", "nobody", "--firewall", "iptables"};
  for (int i = 0; i < n; ++i) args.insert(args.end(), {"--forward", "tcp/" + std::to_string(20000 + i)});
  return args;
}
} // namespace

TEST_CASE("net up: an iptables-restore that exits before reading is a failed step, rolled back (no SIGPIPE)") {
  Lab lab;
  // 1,200 forwards: a ruleset far past the pipe buffer, so tdxctl is still
  // writing when the child has gone. Before the fix: killed by SIGPIPE
  // (status 141), bridge, tap and ip_forward=1 left, no record.
  FakeRestore fake("exit 1");
  auto r = lab.tdxctl(many_forwards(1200), {fake.path_env()});
  INFO(r.err);
  CHECK(r.signal == 0);
  CHECK(r.exit_status == 1);
  CHECK(r.err.find("iptables-restore exited with status 1") != std::string::npos);
  CHECK(r.err.find("rolled back") != std::string::npos);
  CHECK(lab.link("br-tdx").is_null());
  CHECK(lab.link("vmtap0").is_null());
  CHECK(lab.ip_forward() == "0");
  CHECK(lab.save().find("TDXCTL") == std::string::npos);
  CHECK(!fs::exists(lab.root.path() / "run/tdxctl/net.json"));
}

TEST_CASE("net up killed half-way leaves a record, and net down removes everything it made") {
  Lab lab;
  // The firewall step is the last: by then the bridge, tap and ip_forward
  // are changed. SIGKILL gives tdxctl no chance to roll back.
  FakeRestore fake("kill -KILL $PPID; exit 1");
  auto r = lab.tdxctl(many_forwards(3), {fake.path_env()});
  INFO(r.err);
  REQUIRE(r.signal == SIGKILL);
  CHECK(!lab.link("br-tdx").is_null());
  CHECK(lab.ip_forward() == "1");
  auto record = Json::parse(core::value_or_throw(core::read_file(lab.root.path() / "run/tdxctl/net.json")));
  CHECK(record["created"]["bridge"] == true);
  CHECK(record["created"]["tap"] == true);
  CHECK(record["ip_forward_previous"] == "0");

  auto down = lab.tdxctl({"net", "down"});
  INFO(down.err);
  REQUIRE(down.exit_status == 0);
  CHECK(lab.link("br-tdx").is_null());
  CHECK(lab.link("vmtap0").is_null());
  CHECK(lab.ip_forward() == "0");
  CHECK(!fs::exists(lab.root.path() / "run/tdxctl/net.json"));
}

TEST_CASE("net up --firewall nftables: one tdxctl table, real traffic, foreign tables untouched") {
  Lab lab;
  lab.host.exec({"nft", "add table inet foreign"});
  auto up = lab.tdxctl({"net", "up", "--firewall", "nftables", "--tap-user", "nobody", "-o", "json"});
  INFO(up.err);
  REQUIRE(up.exit_status == 0);
  CHECK(Json::parse(up.out)["firewall"] == "nftables");
  auto again = lab.tdxctl({"net", "up", "--tap-user", "nobody", "-o", "json"}); // auto: the inet table
  REQUIRE(again.exit_status == 0);
  CHECK(Json::parse(again.out)["changed"] == false);
  auto ruleset = lab.host.exec({"nft", "list", "ruleset"}).out;
  CHECK(count(ruleset, "table ip tdxctl") == 1);
  CHECK(count(ruleset, "table inet foreign") == 1);
  CHECK(lab.save().find("TDXCTL") == std::string::npos);
  check_forward(lab, *lab.attach_vm(), 6443);
  REQUIRE(lab.tdxctl({"net", "down"}).exit_status == 0);
  ruleset = lab.host.exec({"nft", "list", "ruleset"}).out;
  CHECK(ruleset.find("tdxctl") == std::string::npos);
  CHECK(count(ruleset, "table inet foreign") == 1);
  CHECK(lab.link("br-tdx").is_null());
}

TEST_CASE("net up: an interface name that would rewrite a rule is refused with exit 2, nothing changed") {
  Lab lab;
  lab.host.exec({"nft", "add table inet foreign"});
  auto before = lab.host.exec({"nft", "list", "ruleset"}).out;
  // The review's injection: nft loaded `iifname "x" accept`, dropping the
  // port and ct state matches. The same name in iptables text, and in the tap.
  for (auto args : std::vector<std::vector<std::string>>{
           {"--bridge", "x\"accept#", "--firewall", "nftables"},
           {"--bridge", "x -j ACCEPT", "--firewall", "iptables"},
           {"--tap", "t;x"},
           {"--public-interface", "pub0\" accept"}}) {
    auto cmd = std::vector<std::string>{"net", "up", "--tap-user", "nobody"};
    cmd.insert(cmd.end(), args.begin(), args.end());
    auto r = lab.tdxctl(cmd);
    INFO(args[1] << ": " << r.err);
    CHECK(r.exit_status == 2);
    CHECK(r.err.find("is not a valid interface name") != std::string::npos);
  }
  test::put(lab.root.path(), "host.yaml", "network:\n  bridge: 'x\"accept#'\n");
  auto y = lab.tdxctl({"net", "up", "-c", (lab.root.path() / "host.yaml").string()});
  CHECK(y.exit_status == 2);
  CHECK(y.err.find("host.yaml:2:11: key 'network.bridge'") != std::string::npos);
  CHECK(lab.host.exec({"nft", "list", "ruleset"}).out == before);
  CHECK(lab.save().find("TDXCTL") == std::string::npos);
  CHECK(lab.ip_forward() == "0");
  CHECK(!fs::exists(lab.root.path() / "run/tdxctl/net.json"));
}

TEST_CASE("net up: an ip_forward in --root that links outside it is refused, the target untouched") {
  Lab lab;
  // The review's fixture: proc/sys/net/ipv4/ip_forward pointing outside.
  core::TempDir outside, root;
  test::put(outside.path(), "victim", "0\n");
  test::link(root.path(), "proc/sys/net/ipv4/ip_forward", (outside / "victim").string());
  auto r = lab.host.exec({TDXCTL_BINARY, "--root", root.path().string(), "net", "up", "--tap-user", "nobody"});
  INFO(r.err);
  CHECK(r.exit_status == 3);
  CHECK(r.err.find((root / "proc/sys/net/ipv4/ip_forward").string() + ": it resolves outside --root") !=
        std::string::npos);
  CHECK(core::value_or_throw(core::read_file(outside / "victim")) == "0\n");
  CHECK(lab.link("br-tdx").is_null());
  CHECK(!fs::exists(root.path() / "run/tdxctl/net.json"));
}

TEST_CASE("net down refuses a tampered record: another link's kind, a bad ip_forward, a writable file") {
  Lab lab;
  REQUIRE(lab.tdxctl({"net", "up", "--tap-user", "nobody"}).exit_status == 0);
  const auto path = lab.root.path() / "run/tdxctl/net.json";
  const auto good = core::value_or_throw(core::read_file(path));
  auto write_record = [&](const std::function<void(Json&)>& edit) {
    auto j = Json::parse(good);
    edit(j);
    test::put(lab.root.path(), "run/tdxctl/net.json", j.dump());
    fs::permissions(path, fs::perms(0644));
  };
  // The review's edit: an unrelated veth named as the tap net up created.
  lab.host.ip({"link", "add", "other0", "type", "veth", "peer", "name", "other1"});
  write_record([](Json& j) { j["tap"] = "other0"; });
  auto kind = lab.tdxctl({"net", "down"});
  CHECK(kind.exit_status == 3);
  CHECK(kind.err.find("link other0 is a veth, not the tap net up created: refusing to delete it") != std::string::npos);
  CHECK(!lab.link("other0").is_null());
  CHECK(!lab.link("br-tdx").is_null()); // refused before any change
  CHECK(lab.ip_forward() == "1");

  write_record([](Json& j) { j["ip_forward_previous"] = "0\nGARBAGE"; });
  auto garbage = lab.tdxctl({"net", "down"});
  CHECK(garbage.exit_status == 2);
  CHECK(garbage.err.find("expected \"0\" or \"1\"") != std::string::npos);
  CHECK(lab.ip_forward() == "1");

  write_record([](Json&) {});
  fs::permissions(path, fs::perms(0666));
  auto writable = lab.tdxctl({"net", "down"});
  CHECK(writable.exit_status == 3);
  CHECK(writable.err.find(path.string() + " is writable by group or others (mode 0666)") != std::string::npos);
  REQUIRE(::chown(path.c_str(), 65534, 65534) == 0);
  fs::permissions(path, fs::perms(0644));
  auto owner = lab.tdxctl({"net", "down"});
  CHECK(owner.exit_status == 3);
  CHECK(owner.err.find("is owned by uid 65534, not root") != std::string::npos);
  CHECK(!lab.link("br-tdx").is_null());

  write_record([](Json&) {});
  REQUIRE(::chown(path.c_str(), 0, 0) == 0);
  REQUIRE(lab.tdxctl({"net", "down"}).exit_status == 0);
  CHECK(lab.link("br-tdx").is_null());
  CHECK(lab.link("vmtap0").is_null());
  CHECK(!lab.link("other0").is_null());
  CHECK(lab.ip_forward() == "0");
}

TEST_CASE("net up refuses while another table's forward chain drops, and forwards once it is opened") {
  Lab lab;
  // As firewalld sets up: an inet table whose forward chain drops. Before
  // the fix tdxctl's table counted the packets, the client timed out and
  // net up exited 0.
  lab.host.exec({"nft", "add table inet fw"});
  lab.host.exec({"nft", "add chain inet fw forward { type filter hook forward priority 0; policy drop; }"});
  for (const char* backend : {"nftables", "iptables"}) {
    auto r = lab.tdxctl({"net", "up", "--tap-user", "nobody", "--firewall", backend});
    INFO(backend << ": " << r.err);
    CHECK(r.exit_status == 3);
    CHECK(r.err.find("table inet fw chain forward (policy drop; nothing accepts traffic to or from br-tdx) "
                     "drops forwarded traffic") != std::string::npos);
    CHECK(r.err.find("nft insert rule inet fw forward oifname \"br-tdx\" ct status dnat accept") != std::string::npos);
    CHECK(lab.link("br-tdx").is_null());
    CHECK(lab.ip_forward() == "0");
  }
  // The operator opens the chain as the hint says; then the forwards work.
  lab.host.exec({"nft", "insert rule inet fw forward iifname \"br-tdx\" oifname \"pub0\" accept"});
  lab.host.exec({"nft", "insert rule inet fw forward oifname \"br-tdx\" ct state established,related accept"});
  lab.host.exec({"nft", "insert rule inet fw forward oifname \"br-tdx\" ct status dnat accept"});
  auto up = lab.tdxctl({"net", "up", "--tap-user", "nobody"});
  INFO(up.err);
  REQUIRE(up.exit_status == 0);
  check_forward(lab, *lab.attach_vm(), 6443);
  REQUIRE(lab.tdxctl({"net", "down"}).exit_status == 0);
  CHECK(lab.host.exec({"nft", "list", "table", "inet", "fw"}).out.find("policy drop") != std::string::npos);
}
