#include "support/fixtures.hpp"

#include "tdxctl/core/config_manifest.hpp"

#include <nlohmann/json.hpp>

#include <fstream>
#include <tuple>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace tdx::test {

namespace fs = std::filesystem;

fs::path testdata() { return fs::path(TDXCTL_TESTDATA_DIR); }
fs::path tests_dir() { return fs::path(TDXCTL_TESTS_DIR); }

void put(const fs::path& dir, const std::string& path, const std::string& content) {
  auto p = dir / fs::path(path).relative_path();
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << content;
}

std::string pattern(size_t n, unsigned seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 2654435761u + seed) >> 9);
  return s;
}

void link(const fs::path& dir, const std::string& path, const std::string& target) {
  auto p = dir / fs::path(path).relative_path();
  fs::create_directories(p.parent_path());
  fs::remove(p);
  fs::create_symlink(target, p);
}

static void make_socket(const fs::path& path) {
  fs::create_directories(path.parent_path());
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 64) != 0)
    throw std::runtime_error("cannot bind fixture socket " + path.string());
  // Left open for the life of the test process: `host check` connects to the
  // QGS socket, and a listening socket accepts into its backlog unserved.
}

void make_ready_host(const fs::path& dir) {
  fs::copy(tests_dir() / "fixtures/hosts/tdx-ready", dir,
           fs::copy_options::recursive | fs::copy_options::copy_symlinks |
               fs::copy_options::overwrite_existing);
  make_socket(dir / "var/run/tdx-qgs/qgs.socket");
}

fs::path extract_capture(const fs::path& dir, const std::string& name) {
  core::RealRunner runner;
  auto done = runner.run({{"tar", "-xzf", (testdata() / "sysfs" / name).string(), "-C",
                           dir.string()}});
  if (!done || !done->ok()) throw std::runtime_error("cannot extract " + name);
  return dir / "host";
}

void put_boot_files(const fs::path& image, const std::string& cmdline) {
  nlohmann::ordered_json files;
  for (auto [role, suffix, content] :
       {std::tuple{"kernel", ".vmlinuz", std::string("MZ stand-in kernel for ") + image.filename().string()},
        std::tuple{"initrd", ".initrd", std::string("070701 stand-in initrd")},
        std::tuple{"cmdline", ".cmdline", cmdline}}) {
    std::string name = image.filename().string() + suffix;
    put(image.parent_path(), name, content);
    files[role] = {{"file", name}, {"sha384", core::sha384_hex(content)}};
  }
  nlohmann::ordered_json manifest = {{"image", image.filename().string()}, {"boot_files", files}};
  put(image.parent_path(), image.filename().string() + ".manifest.json", manifest.dump(2) + "\n");
}

core::Completed run_tdxctl(const std::vector<std::string>& args, const std::string& stdin_data,
                           const std::vector<std::string>& env) {
  core::Command cmd;
  cmd.argv = {TDXCTL_BINARY};
  cmd.argv.insert(cmd.argv.end(), args.begin(), args.end());
  cmd.stdin_data = stdin_data;
  cmd.env = env;
  cmd.timeout = std::chrono::minutes(30); // ctest TIMEOUT is the real bound per test
  core::RealRunner runner;
  auto done = runner.run(cmd);
  if (!done) throw std::runtime_error(done.error().message);
  return *done;
}

} // namespace tdx::test
