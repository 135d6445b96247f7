// bench_image: the encryption stage of `tdxctl image build` beside the limit
// of the machine it runs on, both measured in the same run.
//   limit:  `openssl speed -evp aes-256-xts -bytes 4096` (a child process;
//           OpenSSL times it in CPU seconds, so it is a per-core figure);
//   cipher: xts_encrypt_buffer over an in-memory buffer on one core, i.e. the
//           AES-XTS loop with its per-sector IV reset and no I/O;
//   copy:   the same file copied with the same chunked pread/pwrite and no
//           cipher: what moving the bytes through the page cache costs alone
//           (on a VM, fresh tmpfs pages are expensive). A file-to-file
//           encryption can at best cost cipher + copy, so that bound is
//           printed beside the run;
//   place:  what `image build` does: the plaintext filesystem encrypted
//           where it lies in the disk image (xts_encrypt in place: mapped in
//           huge pages on a tmpfs mounted with huge=, through one buffer per
//           worker elsewhere), on one thread and then on THREADS;
//   file:   the same into another file (page cache, fsync included): the
//           path before the build encrypted in place.
// Every file figure is the best of two runs after an untimed warm-up copy.
// Usage: bench_image [SIZE_MIB=2048] [THREADS=0 (all CPUs)] [DIR=/var/tmp]
// On a shared machine wall time mostly measures the other load; CPU time
// (getrusage) says what the code costs, so both are printed.
#include "tdxctl/core/fs.hpp"
#include "tdxctl/core/progress.hpp"
#include "tdxctl/core/runner.hpp"
#include "tdxctl/image/luks_writer.hpp"
#include "tdxctl/image/xts_encrypt.hpp"

#include <openssl/rand.h>

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// GB/s per core from `openssl speed`, whose table row reads
// "AES-256-XTS    6356843.70k" (thousands of bytes per second).
std::optional<double> openssl_speed() {
  tdx::core::RealRunner runner;
  auto r = runner.run({{"openssl", "speed", "-evp", "aes-256-xts", "-bytes", "4096", "-seconds", "2"}});
  if (!r || !r->ok()) return std::nullopt;
  std::istringstream lines(r->out);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::string name;
    double k = 0;
    if (words >> name >> k && name == "AES-256-XTS") return k * 1e3 / 1e9;
  }
  return std::nullopt;
}

// GB per CPU-second of the cipher loop alone, on this thread.
double cipher_loop(std::span<const unsigned char> key) {
  std::vector<unsigned char> buf(256 << 10);
  RAND_bytes(buf.data(), static_cast<int>(buf.size()));
  const uint64_t total = 2ull << 30;
  double cpu0 = cpu_seconds();
  for (uint64_t done = 0; done < total; done += buf.size())
    if (!tdx::image::xts_encrypt_buffer(key, 4096, done / 512, buf, buf)) std::exit(1);
  return static_cast<double>(total) / (cpu_seconds() - cpu0) / 1e9;
}

struct FileRun {
  double wall = 0, cpu = 0;
};

// CPU-seconds per GB of a plain chunked copy, as the encryption worker moves
// its data (256 KiB chunks: XtsJob's default), into a fresh file.
double copy_floor(const std::filesystem::path& dir, int in, uint64_t bytes) {
  auto out_path = dir / "copy.img";
  int out = ::open(out_path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  const size_t chunk = tdx::image::XtsJob{}.chunk_bytes;
  std::vector<unsigned char> buf(chunk);
  double cpu0 = cpu_seconds();
  for (uint64_t pos = 0; pos < bytes; pos += chunk)
    if (!tdx::core::pread_full(in, buf.data(), chunk, pos) ||
        !tdx::core::pwrite_full(out, buf.data(), chunk, (16u << 20) + pos))
      std::exit(1);
  ::fsync(out);
  double cpu = cpu_seconds() - cpu0;
  ::close(out);
  ::unlink(out_path.c_str());
  return cpu / (static_cast<double>(bytes) / 1e9);
}

// One timed xts_encrypt of `bytes` from in at in_offset to out at
// out_offset (the same fd and offset: in place), fsync included.
FileRun timed_encrypt(int in, uint64_t in_offset, int out, uint64_t out_offset, uint64_t bytes, unsigned threads,
                      std::span<const unsigned char> key) {
  tdx::image::XtsJob job;
  job.in_fd = in;
  job.in_offset = in_offset;
  job.out_fd = out;
  job.out_offset = out_offset;
  job.length = bytes;
  job.threads = threads;
  tdx::core::NullProgress progress;
  double cpu0 = cpu_seconds(), t0 = now();
  auto r = tdx::image::xts_encrypt(job, key, progress);
  ::fsync(out);
  FileRun run{now() - t0, cpu_seconds() - cpu0};
  if (!r) {
    std::fprintf(stderr, "bench_image: %s\n", r.error().message.c_str());
    std::exit(1);
  }
  return run;
}

constexpr uint64_t header_area = tdx::image::luks_header_bytes; // before the data area

FileRun file_to_file(const std::filesystem::path& dir, int in, uint64_t bytes, unsigned threads,
                     std::span<const unsigned char> key) {
  auto out_path = dir / "root.luks";
  int out = ::open(out_path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  auto run = timed_encrypt(in, 0, out, header_area, bytes, threads, key);
  ::close(out);
  ::unlink(out_path.c_str()); // frees tmpfs pages before the next run
  return run;
}

// The build's path: plaintext at the data area of one file, encrypted there.
// The plaintext is rewritten before each run (untimed), so every run
// encrypts plaintext and touches pages already allocated, as in the build.
FileRun in_place(int fd, const std::vector<unsigned char>& block, uint64_t bytes, unsigned threads,
                 std::span<const unsigned char> key) {
  for (uint64_t done = 0; done < bytes; done += block.size())
    if (!tdx::core::pwrite_full(fd, block.data(), block.size(), header_area + done)) std::exit(1);
  return timed_encrypt(fd, header_area, fd, header_area, bytes, threads, key);
}

// "place:" and "file:" lines: wall and CPU figures, the ratio to openssl
// speed per core, and for several threads the scaling over one.
void print_run(const char* label, const FileRun& run, unsigned n, uint64_t mib, const std::string& where,
               double limit, double wall1, const char* extra) {
  double gb = static_cast<double>(mib << 20) / 1e9;
  std::printf("%s %u thread%s, %llu MiB %s: %.2f GB/s wall (%.3f s), %.3f CPU-s = %.2f CPU-s per GB, "
              "%.2f GB per CPU-second = %.0f %% of openssl speed per core%s",
              label, n, n == 1 ? "" : "s", static_cast<unsigned long long>(mib), where.c_str(), gb / run.wall,
              run.wall, run.cpu, run.cpu / gb, gb / run.cpu, 100 * gb / run.cpu / limit, extra);
  if (n > 1) std::printf(", %.2fx the 1-thread wall rate", wall1 / run.wall);
  // Below ~half the threads busy, the disk (or the other load) sets the pace, not the CPU.
  std::printf(", CPUs busy %.0f %% of %u\n", 100 * run.cpu / (run.wall * n), n);
}

std::string loadavg() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

} // namespace

int main(int argc, char** argv) {
  uint64_t mib = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 2048;
  unsigned threads = argc > 2 ? static_cast<unsigned>(std::atoi(argv[2])) : 0;
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  std::string parent = argc > 3 ? argv[3] : "/var/tmp";
  const uint64_t bytes = mib << 20;

  std::printf("machine: %u CPUs, load average %s at start\n", std::thread::hardware_concurrency(),
              loadavg().c_str());
  auto limit = openssl_speed();
  if (!limit) {
    std::fprintf(stderr, "bench_image: `openssl speed -evp aes-256-xts` did not run or printed no AES-256-XTS row\n");
    return 1;
  }
  std::printf("limit:  openssl speed -evp aes-256-xts -bytes 4096: %.2f GB/s per core\n", *limit);

  std::vector<unsigned char> key(64);
  RAND_bytes(key.data(), 64);
  double loop = cipher_loop(key);
  std::printf("cipher: %.2f GB per CPU-second, %.0f %% of openssl speed (in memory, one core, "
              "4096-byte sectors, IV reset per sector)\n",
              loop, 100 * loop / *limit);

  tdx::core::TempDir dir(parent, "bench-image");
  int in = ::open((dir / "plain.img").c_str(), O_RDWR | O_CREAT, 0600);
  std::vector<unsigned char> block(8 << 20);
  RAND_bytes(block.data(), static_cast<int>(block.size()));
  for (uint64_t done = 0; done < bytes; done += block.size())
    if (::pwrite(in, block.data(), block.size(), static_cast<off_t>(done)) < 0) return 1;

  // Fresh tmpfs pages cost what the host charges for first touching guest
  // memory, which varies 3x between runs on a VM: one untimed pass first,
  // then the best of two runs for every figure, so the ratios compare like
  // with like.
  copy_floor(dir.path(), in, bytes);
  double copy = std::min(copy_floor(dir.path(), in, bytes), copy_floor(dir.path(), in, bytes));
  double bound = 1 / (1 / *limit + copy); // GB per CPU-second: cipher at openssl speed plus the copy
  std::printf("copy:   %.3f CPU-s per GB moved file to file without a cipher; openssl speed + this copy = "
              "%.2f GB per CPU-second, %.0f %% of openssl speed: the most any file-to-file encryption "
              "reaches here\n",
              copy, bound, 100 * bound / *limit);

  std::vector<unsigned> counts{1};
  if (threads > 1) counts.push_back(threads);
  {
    auto disk_path = dir / "disk.raw";
    int disk = ::open(disk_path.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
    if (disk < 0) return 1;
    const bool huge = tdx::core::on_huge_page_tmpfs(disk);
    std::string where = "in place in " + parent + (huge ? " (mapped, huge pages)" : " (through buffers)");
    double wall1 = 0;
    in_place(disk, block, bytes, 1, key); // allocates the pages, as mke2fs would have
    for (unsigned n : counts) {
      auto run = in_place(disk, block, bytes, n, key);
      if (auto again = in_place(disk, block, bytes, n, key); again.cpu < run.cpu) run = again;
      if (n == 1) wall1 = run.wall;
      print_run("place:", run, n, mib, where, *limit, wall1, "");
    }
    ::close(disk);
    ::unlink(disk_path.c_str());
  }

  double wall1 = 0;
  for (unsigned n : counts) {
    auto run = file_to_file(dir.path(), in, bytes, n, key);
    if (auto again = file_to_file(dir.path(), in, bytes, n, key); again.cpu < run.cpu) run = again;
    if (n == 1) wall1 = run.wall;
    char extra[96];
    std::snprintf(extra, sizeof extra, ", %.0f %% of openssl speed + copy", 100 * (static_cast<double>(bytes) / 1e9) / run.cpu / bound);
    print_run("file: ", run, n, mib, "into " + parent, *limit, wall1, extra);
  }
  std::printf("load average %s at end\n", loadavg().c_str());
  ::close(in);
  return 0;
}
