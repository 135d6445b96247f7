// core/file_batch: many files read in io_uring batches give what the plain
// reads give, file by file: contents, sizes past a slot, pipes that deliver
// in pieces, and the errors (missing file, a directory).
#include "support/fixtures.hpp"
#include "tdxctl/core/file_batch.hpp"
#include "tdxctl/core/fs.hpp"
#include "tdxctl/liburing/api.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <sys/resource.h>
#include <thread>
#include <unistd.h>

using namespace tdx;
namespace fs = std::filesystem;

namespace {

struct Outcome {
  bool ok;
  std::string content_or_error;
};

std::vector<Outcome> read_all(core::FileBatchReader& reader, const std::vector<std::string>& paths) {
  std::vector<core::FileBatchReader::File> files(paths.size());
  for (size_t i = 0; i < paths.size(); ++i) files[i].path = &paths[i];
  reader.read(files);
  std::vector<Outcome> out;
  for (auto& f : files)
    out.push_back(f.result ? Outcome{true, std::string(f.content)} : Outcome{false, f.result.error().message});
  return out;
}

// Whether this machine lets a process use io_uring as the reader needs it,
// asked of the kernel directly rather than of the reader.
bool io_uring_here() {
  try {
    const auto& api = liburing::api();
    io_uring ring{};
    io_uring_params params{};
    if (api.io_uring_queue_init_params(8, &ring, &params) != 0) return false;
    api.io_uring_queue_exit(&ring);
    return (params.features & IORING_FEAT_RW_CUR_POS) && (params.features & IORING_FEAT_NATIVE_WORKERS);
  } catch (const core::Failure&) {
    return false; // liburing2 not installed
  }
}

} // namespace

TEST_CASE("FileBatchReader reads a batch as read_file_into does, file by file, with and without io_uring") {
  core::TempDir dir;
  std::vector<std::string> paths, expected;
  // Sizes around the slot and the probe: empty, small, a slot exactly, a
  // slot and a byte, several slots; more files than one submission holds.
  const size_t sizes[] = {0,
                          1,
                          5006,
                          core::FileBatchReader::k_slot - 1,
                          core::FileBatchReader::k_slot,
                          core::FileBatchReader::k_slot + 1,
                          core::FileBatchReader::k_slot + 300,
                          3 * core::FileBatchReader::k_slot + 17};
  for (size_t i = 0; i < core::FileBatchReader::k_batch + 9; ++i) {
    auto name = "q" + std::to_string(i);
    auto content = test::pattern(sizes[i % std::size(sizes)], static_cast<unsigned>(i));
    test::put(dir.path(), name, content);
    paths.push_back((dir / name).string());
    expected.push_back(content);
  }
  paths.insert(paths.begin() + 3, (dir / "missing").string());
  expected.insert(expected.begin() + 3, "");
  fs::create_directory(dir / "a-directory");
  paths.insert(paths.begin() + 7, (dir / "a-directory").string());
  expected.insert(expected.begin() + 7, "");

  core::FileBatchReader ring, plain(false);
  // Twice through each reader: slots and buffers are reused.
  for (int round = 0; round < 2; ++round) {
    auto got = read_all(ring, paths);
    auto want = read_all(plain, paths);
    CHECK_FALSE(plain.used_ring());
    REQUIRE(got.size() == paths.size());
    for (size_t i = 0; i < paths.size(); ++i) {
      INFO(paths[i]);
      CHECK(got[i].ok == want[i].ok);
      CHECK(got[i].content_or_error == want[i].content_or_error);
      if (got[i].ok) CHECK(got[i].content_or_error == expected[i]);
    }
    CHECK_FALSE(got[3].ok);
    CHECK(got[3].content_or_error == "cannot read " + paths[3] + ": No such file or directory");
    CHECK(got[7].content_or_error == "cannot read " + paths[7] + ": Is a directory");
  }
  // Where the machine has io_uring (a kernel from 5.12, liburing2, no
  // seccomp filter against it), the batch went through it.
  if (io_uring_here()) CHECK(ring.used_ring());
  else WARN("io_uring is not available here: only the plain reads were compared");
}

TEST_CASE("FileBatchReader reads a pipe that delivers in pieces to its end, not to its first short read") {
  // /dev/fd/N of a pipe, as `<(command)` passes one: the first read returns
  // the first piece, the probe the second; the rest is read on.
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  auto content = test::pattern(3 * 4096 + 100, 3);
  std::thread writer([&] {
    for (size_t at = 0; at < content.size(); at += 5000) {
      size_t n = std::min<size_t>(5000, content.size() - at);
      if (::write(fds[1], content.data() + at, n) != static_cast<ssize_t>(n)) break; // the reader sees it short
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ::close(fds[1]);
  });
  core::TempDir dir;
  std::vector<std::string> paths;
  for (int i = 0; i < 5; ++i) {
    test::put(dir.path(), "f" + std::to_string(i), "file " + std::to_string(i));
    paths.push_back((dir / ("f" + std::to_string(i))).string());
  }
  paths.insert(paths.begin() + 2, "/dev/fd/" + std::to_string(fds[0]));
  core::FileBatchReader reader;
  auto got = read_all(reader, paths);
  writer.join();
  if (io_uring_here()) CHECK(reader.used_ring());
  ::close(fds[0]);
  REQUIRE(got.size() == 6);
  CHECK(got[2].ok);
  CHECK(got[2].content_or_error == content);
  CHECK(got[0].content_or_error == "file 0");
  CHECK(got[5].content_or_error == "file 4");
}

TEST_CASE("FileBatchReader::files_per_read raises the soft limit on open files and shares it out") {
  rlimit before{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &before) == 0);
  rlimit lowered = before;
  lowered.rlim_cur = std::min<rlim_t>(before.rlim_max, 100);
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &lowered) == 0);
  const size_t per_read = core::FileBatchReader::files_per_read(8);
  rlimit after{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &after) == 0);
  CHECK(after.rlim_cur == before.rlim_max); // raised to the hard limit
  if (before.rlim_max != RLIM_INFINITY) {
    CHECK(per_read == std::clamp<size_t>((before.rlim_max - 64) / 8, 1, core::FileBatchReader::k_batch));
    CHECK(core::FileBatchReader::files_per_read(before.rlim_max) == 1); // never 0
  }
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &before) == 0);
}
