// tdxctl volume end to end: volumes made by the binary are read back by
// libguestfs (a real kernel's ext4, read-only), both directly from this test
// and through `volume verify` / `volume inspect`; every bad input is a clear
// error that leaves no file behind. Needs LIBGUESTFS_BACKEND=direct here
// (set below); each appliance launch takes 10-20 s under TCG.
#include "support/fixtures.hpp"
#include "tdxctl/core/root.hpp"

#include <catch2/catch.hpp>
#include <guestfs.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>

using namespace tdx;
namespace fs = std::filesystem;
using nlohmann::json;

static const char* k_alice = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
static const std::string k_seed = "0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789abcdef";

static std::vector<std::string> config_args(const fs::path& out) {
  return {"volume", "config", "create", "-o", out.string(), "--hostname", "miner-0",
          "--miner-ss58", k_alice, "--seed-file", "-", "--vm-ip", "192.168.100.2/24",
          "--gateway", "192.168.100.1", "--dns", "1.1.1.1", "--dns", "9.9.9.9"};
}

static std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

namespace {
// Reads files straight from the image with libguestfs, independently of tdxctl.
struct GuestfsReader {
  guestfs_h* g = guestfs_create();
  explicit GuestfsReader(const fs::path& image, const char* format) {
    ::setenv("LIBGUESTFS_BACKEND", "direct", 0);
    REQUIRE(g);
    REQUIRE(guestfs_add_drive_opts(g, image.c_str(), GUESTFS_ADD_DRIVE_OPTS_READONLY, 1,
                                   GUESTFS_ADD_DRIVE_OPTS_FORMAT, format, -1) == 0);
    REQUIRE(guestfs_launch(g) == 0);
  }
  ~GuestfsReader() { guestfs_close(g); }
  std::string str(char* s) {
    std::string out = s ? s : "";
    std::free(s);
    return out;
  }
  std::string read(const std::string& path) {
    size_t size = 0;
    char* data = guestfs_read_file(g, path.c_str(), &size);
    REQUIRE(data);
    std::string out(data, size);
    std::free(data);
    return out;
  }
  unsigned mode(const std::string& path) {
    auto* st = guestfs_lstatns(g, path.c_str());
    REQUIRE(st);
    unsigned m = st->st_mode & 07777;
    guestfs_free_statns(st);
    return m;
  }
};
} // namespace

TEST_CASE("volume: volume config create: libguestfs reads the label, files, modes and netplan back") {
  ::setenv("LIBGUESTFS_BACKEND", "direct", 0);
  core::TempDir dir;
  auto out = dir.path() / "config.qcow2";
  auto r = test::run_tdxctl(config_args(out), k_seed + "\n");
  INFO(r.err);
  REQUIRE(r.exit_status == 0);
  CHECK(r.out.find("sha384 (content manifest): ") != std::string::npos);
  struct stat st{};
  REQUIRE(::stat(out.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto sidecar = core::value_or_throw(core::read_file(out.string() + ".sha384"));
  REQUIRE(sidecar.size() == 96 + 2 + std::string("config.qcow2\n").size());
  CHECK(sidecar.substr(96) == "  config.qcow2\n");
  CHECK(entries(dir.path()) == std::vector<std::string>{"config.qcow2", "config.qcow2.sha384"});

  {
    GuestfsReader fsr(out, "qcow2");
    CHECK(fsr.str(guestfs_vfs_type(fsr.g, "/dev/sda")) == "ext4");
    CHECK(fsr.str(guestfs_vfs_label(fsr.g, "/dev/sda")) == "tdx-config");
    REQUIRE(guestfs_mount_ro(fsr.g, "/dev/sda", "/") == 0);
    CHECK(fsr.read("/hostname") == "miner-0\n");
    CHECK(fsr.read("/miner-ss58") == std::string(k_alice) + "\n");
    CHECK(fsr.read("/miner-seed") == k_seed + "\n");
    CHECK(fsr.mode("/hostname") == 0644);
    CHECK(fsr.mode("/miner-ss58") == 0600);
    CHECK(fsr.mode("/miner-seed") == 0600);
    CHECK(fsr.mode("/network-config.yaml") == 0644);
    CHECK(guestfs_is_dir(fsr.g, "/lost+found") == 1);
    auto netplan = YAML::Load(fsr.read("/network-config.yaml"));
    CHECK(netplan["network"]["version"].as<int>() == 2);
    auto eth = netplan["network"]["ethernets"]["any-ethernet"];
    CHECK(eth["addresses"][0].as<std::string>() == "192.168.100.2/24");
    CHECK(eth["routes"][0]["via"].as<std::string>() == "192.168.100.1");
    CHECK(eth["nameservers"]["addresses"][1].as<std::string>() == "9.9.9.9");
  }

  auto v = test::run_tdxctl({"volume", "verify", out.string(), "--kind", "config", "--json"});
  INFO(v.out << v.err);
  CHECK(v.exit_status == 0);
  auto doc = json::parse(v.out);
  CHECK(doc["schema"] == "tdxctl.volume.verify/1");
  CHECK(doc["ok"] == true);
  CHECK(doc["sha384"] == sidecar.substr(0, 96));
  CHECK(v.out.find(k_seed) == std::string::npos);

  auto i = test::run_tdxctl({"volume", "inspect", out.string()});
  CHECK(i.exit_status == 0);
  CHECK(i.out.find("<redacted, 65 bytes>") != std::string::npos);
  CHECK(i.out.find("label 'tdx-config'") != std::string::npos);
  CHECK(i.out.find(k_seed) == std::string::npos);

  // A re-run with the same values changes nothing.
  auto again = test::run_tdxctl([&] { auto a = config_args(out); a.push_back("--json"); return a; }(),
                                k_seed + "\n");
  CHECK(again.exit_status == 0);
  CHECK(json::parse(again.out)["changed"] == false);
}

TEST_CASE("volume: volume verify catches a cache volume used as a config volume") {
  ::setenv("LIBGUESTFS_BACKEND", "direct", 0);
  core::TempDir dir;
  auto out = dir.path() / "cache.qcow2";
  auto start = std::chrono::steady_clock::now();
  auto c = test::run_tdxctl({"volume", "cache", "create", "-o", out.string(), "--size", "5000G",
                             "--json"});
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  INFO(c.err);
  REQUIRE(c.exit_status == 0);
  auto doc = json::parse(c.out);
  CHECK(doc["schema"] == "tdxctl.volume.cache.create/1");
  CHECK(doc["label"] == "tdx-cache");
  CHECK(doc["allocated_bytes"].get<uint64_t>() <= 64ull << 20);
  CHECK(seconds < 10); // 2 s target on an idle machine (bench/bench_volume)
  auto ok = test::run_tdxctl({"volume", "verify", out.string(), "--kind", "cache", "-o", "json"});
  INFO(ok.out << ok.err);
  CHECK(ok.exit_status == 0);
  CHECK(json::parse(ok.out)["filesystem"]["label"] == "tdx-cache");
  auto wrong = test::run_tdxctl({"volume", "verify", out.string(), "--kind", "config"});
  CHECK(wrong.exit_status == 1);
  CHECK(wrong.out.find("FAIL  fs.label: LABEL=tdx-cache (the guest mounts LABEL=tdx-config)") !=
        std::string::npos);
}

TEST_CASE("volume: bad config input: a named error, exit 2, and no file left behind") {
  core::TempDir dir;
  auto out = dir.path() / "config.qcow2";
  auto with = [&](const std::string& flag, const std::string& value) {
    auto args = config_args(out);
    auto it = std::find(args.begin(), args.end(), flag);
    *(it + 1) = value;
    return args;
  };
  struct Case {
    std::vector<std::string> args;
    std::string stdin_data, expect;
  };
  std::vector<Case> cases{
      {with("--hostname", "bad_host"), k_seed, "--hostname: character 4 is not allowed"},
      {with("--hostname", std::string(64, 'a')), k_seed, "at most 63 are allowed"},
      {with("--miner-ss58", "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQZ"), k_seed,
       "--miner-ss58: SS58 address: checksum mismatch"},
      {config_args(out), "0x" + k_seed.substr(2), "starts with '0x'"},
      {config_args(out), k_seed.substr(1), "is 63 characters; expected exactly 64 hex digits"},
      {with("--vm-ip", "192.168.100.2"), k_seed, "--vm-ip: '192.168.100.2' has no prefix length"},
      {with("--gateway", "10.1.1.1"), k_seed, "--gateway: 10.1.1.1 is outside the VM's subnet"},
  };
  for (const auto& c : cases) {
    auto r = test::run_tdxctl(c.args, c.stdin_data);
    INFO(c.expect << "\n" << r.err);
    CHECK(r.exit_status == 2);
    CHECK(r.err.find(c.expect) != std::string::npos);
    CHECK(r.err.find(k_seed.substr(2, 40)) == std::string::npos);
    CHECK(fs::is_empty(dir.path()));
  }
}

TEST_CASE("volume: a seed on the command line is refused before anything runs") {
  core::TempDir dir;
  auto args = config_args(dir.path() / "c.qcow2");
  args.push_back("--miner-seed");
  args.push_back(k_seed);
  auto r = test::run_tdxctl(args);
  CHECK(r.exit_status == 2);
  CHECK(r.err.find("the miner seed is not accepted on the command line") != std::string::npos);
  CHECK(r.err.find("--seed-file") != std::string::npos);
  CHECK(r.err.find(k_seed) == std::string::npos);
  CHECK(fs::is_empty(dir.path()));
}

TEST_CASE("volume: existing outputs need --force, labels over 16 bytes are refused") {
  core::TempDir dir;
  auto out = dir.path() / "c.qcow2";
  test::put(dir.path(), "c.qcow2", "not mine");
  auto r = test::run_tdxctl(config_args(out), k_seed);
  CHECK(r.exit_status == 2);
  CHECK(r.err.find("c.qcow2 already exists") != std::string::npos);
  auto c = test::run_tdxctl({"volume", "cache", "create", "-o", out.string(), "--size", "1G"});
  CHECK(c.exit_status == 2);
  CHECK(c.err.find("already exists") != std::string::npos);
  CHECK(core::value_or_throw(core::read_file(out)) == "not mine");
  auto l = test::run_tdxctl({"volume", "cache", "create", "-o", (dir.path() / "x.qcow2").string(),
                             "--label", "seventeen-bytes-x"});
  CHECK(l.exit_status == 2);
  CHECK(l.err.find("--label: label 'seventeen-bytes-x' is 17 bytes") != std::string::npos);
  CHECK(entries(dir.path()) == std::vector<std::string>{"c.qcow2"});
}

TEST_CASE("volume: config create from host.yaml's config: section, with the seed in the environment") {
  core::TempDir dir;
  test::put(dir.path(), "host.yaml",
            std::string("config:\n  hostname: yaml-host\n  miner_ss58: ") + k_alice +
                "\n  vm_ip: 10.0.2.15/24\n  gateway: 10.0.2.2\n  dns: [10.0.2.3]\n");
  auto out = dir.path() / "config.raw";
  auto r = test::run_tdxctl({"volume", "config", "create", "-c", (dir.path() / "host.yaml").string(),
                             "-o", out.string(), "--format", "raw", "--json"},
                            "", {"TDXCTL_MINER_SEED=" + k_seed});
  INFO(r.err);
  REQUIRE(r.exit_status == 0);
  auto doc = json::parse(r.out);
  CHECK(doc["schema"] == "tdxctl.volume.config.create/1");
  CHECK(doc["changed"] == true);
  CHECK(doc["format"] == "raw");
  core::RealRunner runner;
  auto cat = core::run_checked(runner, {{"debugfs", "-R", "cat /hostname", out.string()}}, "debugfs");
  CHECK(cat.out == "yaml-host\n");
  // --dry-run prints the plan and writes nothing.
  auto dry = test::run_tdxctl({"--dry-run", "volume", "config", "create", "-c",
                               (dir.path() / "host.yaml").string(), "-o",
                               (dir.path() / "dry.qcow2").string(), "--json"},
                              "", {"TDXCTL_MINER_SEED=" + k_seed});
  CHECK(dry.exit_status == 0);
  CHECK(json::parse(dry.out)["dry_run"] == true);
  CHECK_FALSE(fs::exists(dir.path() / "dry.qcow2"));
  CHECK(dry.out.find(k_seed) == std::string::npos);
}

TEST_CASE("volume: SIGHUP during config create leaves no staged seed or work directory; no child or /proc sees the seed") {
  core::TempDir dir;
  auto bin = dir.path() / "bin";
  auto mark = (dir.path() / "mke2fs").string();
  // mke2fs held at its start: it records its staging directory, its own
  // environment and its pid, then waits to be killed, so the signal lands
  // while the seed is staged.
  test::put(bin, "mke2fs",
            "#!/bin/sh\nfor a; do [ \"$prev\" = -d ] && echo \"$a\" > " + mark + ".staging; prev=$a; done\n"
            "env > " + mark + ".env\necho $$ > " + mark + ".tmp && mv " + mark + ".tmp " + mark +
                ".pid\nexec sleep 120\n");
  fs::permissions(bin / "mke2fs", fs::perms::owner_all);
  test::put(dir.path(), "host.yaml",
            std::string("config:\n  hostname: sig-host\n  miner_ss58: ") + k_alice +
                "\n  vm_ip: 10.0.2.15/24\n  gateway: 10.0.2.2\n  dns: [10.0.2.3]\n");
  auto out = dir.path() / "config.qcow2";

  std::vector<std::string> words{TDXCTL_BINARY, "volume", "config", "create", "-c",
                                 (dir.path() / "host.yaml").string(), "-o", out.string()};
  std::vector<std::string> env_words{"PATH=" + bin.string() + ":" + std::getenv("PATH"),
                                     "TDXCTL_MINER_SEED=" + k_seed};
  std::vector<char*> argv, envp;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  for (auto& e : env_words) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = 0;
  REQUIRE(::posix_spawn(&pid, TDXCTL_BINARY, nullptr, nullptr, argv.data(), envp.data()) == 0);
  // Bounded wait for the stand-in to start (the volume takes well under a second to stage).
  for (int i = 0; i < 600 && !fs::exists(mark + ".pid"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  REQUIRE(fs::exists(mark + ".pid"));
  auto staging = core::trim(*core::read_file(mark + ".staging"));
  auto child_pid = std::stoi(*core::read_file(mark + ".pid"));

  // The seed is staged (in memory where there is a tmpfs), but in no environment.
  CHECK(fs::exists(fs::path(staging) / "miner-seed"));
  CHECK(core::read_file(mark + ".env")->find(k_seed) == std::string::npos);
  CHECK(core::read_file(mark + ".env")->find("TDXCTL_MINER_SEED") == std::string::npos);
  CHECK(core::read_file("/proc/" + std::to_string(pid) + "/environ")->find(k_seed) == std::string::npos);

  REQUIRE(::kill(pid, SIGHUP) == 0);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  ::kill(child_pid, SIGKILL);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 130);
  CHECK_FALSE(fs::exists(staging));
  // Only what the test put there: no work directory, no temporary, no output.
  auto left = entries(dir.path());
  std::erase_if(left, [](const std::string& n) { return n.rfind("mke2fs.", 0) == 0; });
  CHECK(left == std::vector<std::string>{"bin", "host.yaml"});
}
