// core/cleanup and core::TempDir: the work directory is private, fresh and
// removed with everything in it, on destruction and when a signal or a crash
// ends the process.
#include "support/fixtures.hpp"
#include "tdxctl/core/cleanup.hpp"
#include "tdxctl/core/fs.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace tdx::core;
namespace fs = std::filesystem;

namespace {

// Runs `body` in a forked child that has the cleanup handlers installed and
// then raises `sig`; returns the wait status.
template <class Body> int in_child(int sig, Body body) {
  pid_t pid = ::fork();
  if (pid == 0) {
    install_cleanup_handlers();
    body();
    ::raise(sig);
    ::_exit(99); // not reached: the handler exits or re-raises
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

// A directory the forked child's handlers do not know about (a TempDir made
// here would be registered, and removed by the child too).
struct UnregisteredDir {
  fs::path path;
  UnregisteredDir() {
    std::string tmpl = (fs::temp_directory_path() / "tdxctl-test.XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()));
    path = tmpl;
  }
  ~UnregisteredDir() { fs::remove_all(path); }
};

} // namespace

TEST_CASE("TempDir is private and fresh, creates files exclusively, removes the whole tree") {
  TempDir parent;
  fs::path where;
  {
    TempDir work(parent.path(), ".out.build");
    where = work.path();
    struct stat st {};
    REQUIRE(::stat(where.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);
    CHECK(st.st_uid == ::geteuid());
    CHECK(where.filename().string().rfind(".out.build.", 0) == 0);
    int fd = work.create_file("root.img", 0600);
    CHECK(fd >= 0);
    ::close(fd);
    // An existing name, or a link planted under it, is never opened.
    CHECK_THROWS_WITH(work.create_file("root.img", 0600), Catch::Contains("File exists"));
    tdx::test::put(parent.path(), "victim", "root-owned content");
    fs::create_symlink(parent.path() / "victim", where / "link.img");
    CHECK_THROWS_WITH(work.create_file("link.img", 0600), Catch::Contains("File exists"));
    CHECK_THROWS(work.create_file("../escape", 0600));
    auto staging = work.create_dir("staging");
    tdx::test::put(staging, "deep/er/miner-seed", "seed");
    fs::create_symlink(parent.path(), staging / "parent-link");
  }
  CHECK_FALSE(fs::exists(where));
  // Links inside were removed, not followed.
  CHECK(*read_file(parent.path() / "victim") == "root-owned content");
}

TEST_CASE("TempDir refuses a parent everyone may write to without the sticky bit") {
  TempDir parent;
  auto open_dir = parent.path() / "shared";
  fs::create_directory(open_dir);
  ::chmod(open_dir.c_str(), 0777);
  CHECK_THROWS_WITH(TempDir(open_dir, "x"), Catch::Contains("writable by every user and has no sticky bit"));
  ::chmod(open_dir.c_str(), 01777); // like /tmp: safe
  CHECK_NOTHROW(TempDir(open_dir, "x"));
}

TEST_CASE("SIGHUP, SIGQUIT, SIGTERM and SIGINT remove every work directory, then exit 130") {
  for (int sig : {SIGHUP, SIGQUIT, SIGTERM, SIGINT}) {
    UnregisteredDir parent;
    auto status = in_child(sig, [&] {
      auto* work = new TempDir(parent.path, ".vol.work"); // never destroyed: the handler must clean
      auto staging = work->create_dir("staging");
      tdx::test::put(staging, "miner-seed", "seed\n");
    });
    INFO("signal " << sig);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 130);
    CHECK(fs::is_empty(parent.path));
  }
}

TEST_CASE("a crash removes the work directory and still dies of its signal") {
  UnregisteredDir parent;
  auto status = in_child(SIGSEGV, [&] {
    auto* work = new TempDir(parent.path, ".vol.work");
    tdx::test::put(work->path(), "miner-seed", "seed\n");
  });
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGSEGV);
  CHECK(fs::is_empty(parent.path));
}

TEST_CASE("remove_tree removes nested content without following links") {
  TempDir parent;
  auto tree = parent.path() / "tree";
  tdx::test::put(tree, "a/b/c/file", "x");
  tdx::test::put(parent.path(), "outside/keep", "keep");
  fs::create_symlink(parent.path() / "outside", tree / "a/dir-link");
  CHECK(remove_tree(tree.c_str()));
  CHECK_FALSE(fs::exists(tree));
  CHECK(*read_file(parent.path() / "outside/keep") == "keep");
}
