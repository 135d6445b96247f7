// tdxctl keys through the real binaries: add/list/remove on a store, then
// `keys serve --insecure-accept-sample` as its own process and the real
// `tdxctl-guest unlock` against it with sample evidence (no configfs-tsm),
// opening a real LUKS2 header with the released key.
#include "support/fixtures.hpp"
#include "support/unlock_fixtures.hpp"

#include "tdxctl/core/runner.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sstream>
#include <thread>

using namespace tdx;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* k_uuid = "2c4e6a8b-1d3f-4a5b-9c7d-8e0f1a2b3c4d";
const std::string k_key = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8";
const std::string k_containerd = "b4f5a1c2d3e4f5a6b7c8d9e0f1a2b3c4";

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(l);
  return out;
}

} // namespace

TEST_CASE("keys add, list and remove through the CLI", "[keys][integration]") {
  core::TempDir tmp;
  auto store = (tmp / "store").string();
  test::put(tmp.path(), "policy.yaml", "accept_tcb: [UpToDate]\n");
  test::put(tmp.path(), "vm.key", k_key + "\n");
  auto add = test::run_tdxctl({"keys", "add", "vm-1", "--policy", (tmp / "policy.yaml").string(), "--key-stdin",
                               "--store", store, "-o", "json"},
                              k_key + "\n");
  INFO(add.err);
  REQUIRE(add.exit_status == 0);
  CHECK(json::parse(add.out)["changed"] == true);
  auto again = test::run_tdxctl({"keys", "add", "vm-1", "--policy", (tmp / "policy.yaml").string(), "--key-file",
                                 (tmp / "vm.key").string(), "--store", store, "-o", "json"});
  REQUIRE(again.exit_status == 0);
  CHECK(json::parse(again.out)["changed"] == false); // same key (the newline is not part of it) and policy
  auto other = test::run_tdxctl({"keys", "add", "vm-1", "--policy", (tmp / "policy.yaml").string(), "--key-stdin",
                                 "--store", store},
                                "another");
  CHECK(other.exit_status == 2);
  CHECK_THAT(other.err, Catch::Contains("--force"));
  // The name is checked before the key is read: with nothing on stdin the
  // error is still the name's.
  auto bad_name = test::run_tdxctl({"keys", "add", "vm/1", "--policy", (tmp / "policy.yaml").string(),
                                    "--key-stdin", "--store", store});
  CHECK(bad_name.exit_status == 2);
  CHECK_THAT(bad_name.err, Catch::Contains("'vm/1' is not a VM name"));
  auto list = test::run_tdxctl({"keys", "list", "--store", store, "-o", "json"});
  REQUIRE(list.exit_status == 0);
  auto doc = json::parse(list.out);
  REQUIRE(doc["vms"].size() == 1);
  CHECK(doc["vms"][0]["name"] == "vm-1");
  CHECK(doc["vms"][0]["sample_evidence_accepted"] == false);
  CHECK(list.out.find(k_key) == std::string::npos);
  auto dry = test::run_tdxctl({"-n", "keys", "remove", "vm-1", "--store", store});
  REQUIRE(dry.exit_status == 0);
  CHECK(fs::exists(tmp / "store/vm-1/key"));
  REQUIRE(test::run_tdxctl({"keys", "remove", "vm-1", "--store", store}).exit_status == 0);
  CHECK_FALSE(fs::exists(tmp / "store/vm-1"));
  auto bad = test::run_tdxctl({"keys", "add", "../x", "--policy", (tmp / "policy.yaml").string(), "--key-stdin",
                               "--store", store},
                              k_key);
  CHECK(bad.exit_status == 2);
  CHECK_THAT(bad.err, Catch::Contains("not a VM name"));
}

TEST_CASE("tdxctl-guest unlock gets its keys from keys serve with sample evidence", "[keys][integration]") {
  core::TempDir tmp;
  auto store = tmp / "store";
  auto pki = test::make_test_pki(tmp.path(), "keys");
  test::put(tmp.path(), "policy.yaml", "accept_tcb: [UpToDate]\n");
  test::put(tmp.path(), "containerd.key", k_containerd);
  REQUIRE(test::run_tdxctl({"keys", "add", "tdx-node-3", "--policy", (tmp / "policy.yaml").string(), "--key-stdin",
                            "--containerd-key-file", (tmp / "containerd.key").string(), "--store", store.string()},
                           k_key)
              .exit_status == 0);
  // A VM whose policy pins a measurement: sample evidence cannot satisfy it.
  test::put(tmp.path(), "pinned.yaml", "mr_config_id: " + std::string(96, 'a') + "\n");
  REQUIRE(test::run_tdxctl({"keys", "add", "tdx-node-4", "--policy", (tmp / "pinned.yaml").string(), "--key-stdin",
                            "--store", store.string()},
                           k_key)
              .exit_status == 0);

  // keys serve in its own process, stdout (the decision log) and stderr to files.
  std::vector<std::string> words{TDXCTL_BINARY, "keys", "serve", "--listen", "127.0.0.1:0", "--cert",
                                 pki.server_cert.string(), "--key", pki.server_key.string(), "--store",
                                 store.string(), "--insecure-accept-sample"};
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  auto out_log = (tmp / "serve.out").string(), err_log = (tmp / "serve.err").string();
  posix_spawn_file_actions_addopen(&fa, 1, out_log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, err_log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = 0;
  REQUIRE(::posix_spawn(&pid, TDXCTL_BINARY, &fa, nullptr, argv.data(), environ) == 0);
  posix_spawn_file_actions_destroy(&fa);
  struct Reap {
    pid_t pid;
    ~Reap() {
      if (pid > 0 && ::kill(pid, SIGKILL) == 0) ::waitpid(pid, nullptr, 0);
    }
  } reap{pid};
  // It writes its marker (with the port it got) once it listens; bounded wait.
  auto marker = store / (".serve-" + std::to_string(pid) + ".json");
  for (int i = 0; i < 600 && !fs::exists(marker); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  INFO(core::read_file(err_log).value_or(""));
  REQUIRE(fs::exists(marker));
  auto listen = json::parse(*core::read_file(marker))["listen"].get<std::string>();

  auto list = json::parse(test::run_tdxctl({"keys", "list", "--store", store.string(), "-o", "json"}).out);
  CHECK(list["servers"][0]["insecure_accept_sample"] == true);
  CHECK(list["vms"][0]["sample_evidence_accepted"] == true);
  CHECK(list["vms"][0]["containerd_key"] == true);
  CHECK(list["vms"][1]["name"] == "tdx-node-4");
  CHECK(list["vms"][1]["pinned"] == json::array({"mr_config_id"}));
  CHECK(list["vms"][1]["sample_evidence_accepted"] == false);
  auto text_list = test::run_tdxctl({"keys", "list", "--store", store.string()}).out;
  CHECK_THAT(text_list, Catch::Contains("INSECURE") && Catch::Contains("ACCEPTED (insecure)") &&
                            Catch::Contains("refused (policy pins)"));

  // The guest: no configfs-tsm under its root, an image built with the setting.
  auto root = tmp / "root";
  fs::create_directories(root);
  test::make_luks_device(root, k_uuid, k_key);
  test::put(root, "run/tdx-config/hostname", "tdx-node-3\n");
  test::put(root, "run/tdx-config/miner-ss58", "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty\n");
  test::bind_config_volume(root);
  test::put(tmp.path(), "unlock.conf",
            "TDX_NONCE_ENDPOINT=https://" + listen + "/nonce\nTDX_API_ENDPOINT=https://" + listen +
                "/attest\nTDX_CA_CERT=" + pki.ca_cert.string() + "\nTDX_RETRY_COUNT=2\nTDX_TIMEOUT=10\n"
                "TDX_LUKS_UUID=" + k_uuid + "\nTDX_INSECURE_SAMPLE_EVIDENCE=1\n");
  core::RealRunner runner;
  auto guest = runner.run(core::Command{{TDXCTL_GUEST_BINARY, "--root", root.string(), "-o", "json", "unlock",
                                         "--config", (tmp / "unlock.conf").string(), "--test-passphrase",
                                         "--device-timeout", "0"}});
  REQUIRE(guest);
  INFO(guest->err);
  REQUIRE(guest->exit_status == 0);
  auto report = json::parse(guest->out);
  CHECK(report["evidence"] == "sample");
  CHECK(report["containerd_key"] == true);
  CHECK(report["luks"]["keyslot"] == 0);
  CHECK_THAT(guest->err, Catch::Contains("SAMPLE evidence"));

  REQUIRE(::kill(pid, SIGTERM) == 0);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  reap.pid = 0;
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK_FALSE(fs::exists(marker));
  auto err = *core::read_file(err_log);
  CHECK_THAT(err, Catch::Contains("INSECURE") && Catch::Contains("--insecure-accept-sample"));
  int releases = 0;
  for (const auto& l : lines_of(*core::read_file(out_log))) {
    auto j = json::parse(l);
    CHECK(j["insecure_sample"] == true);
    CHECK(l.find(k_key) == std::string::npos);
    CHECK(l.find(k_containerd) == std::string::npos);
    releases += j["decision"] == "release";
  }
  CHECK(releases == 1);
}
