// bench_image: the encryption stage of `tdxctl image build` in GB/s: a
// plaintext file encrypted into a LUKS2 data area in another file with the
// real threaded AES-256-XTS path (page cache, fsync included).
// Usage: bench_image [SIZE_MIB=2048] [THREADS=0 (all CPUs)] [DIR=/var/tmp]
// It prints wall-clock GB/s and the CPU cost (GB per CPU-second).
#include "tdxctl/core/fs.hpp"
#include "tdxctl/core/progress.hpp"
#include "tdxctl/image/xts_encrypt.hpp"

#include <openssl/rand.h>

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

int main(int argc, char** argv) {
  uint64_t mib = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 2048;
  unsigned threads = argc > 2 ? static_cast<unsigned>(std::atoi(argv[2])) : 0;
  std::string parent = argc > 3 ? argv[3] : "/var/tmp";
  tdx::core::TempDir dir(parent, "bench-image");
  auto in_path = dir / "plain.img", out_path = dir / "root.luks";
  int in = ::open(in_path.c_str(), O_RDWR | O_CREAT, 0600);
  std::vector<unsigned char> block(8 << 20);
  RAND_bytes(block.data(), static_cast<int>(block.size()));
  for (uint64_t done = 0; done < (mib << 20); done += block.size())
    if (::pwrite(in, block.data(), block.size(), static_cast<off_t>(done)) < 0) return 1;
  int out = ::open(out_path.c_str(), O_RDWR | O_CREAT, 0600);
  std::vector<unsigned char> key(64);
  RAND_bytes(key.data(), 64);

  tdx::image::XtsJob job;
  job.in_fd = in;
  job.out_fd = out;
  job.out_offset = 16 << 20;
  job.length = mib << 20;
  job.threads = threads;
  tdx::core::NullProgress progress;
  auto cpu = [] {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
  };
  double cpu0 = cpu();
  auto t0 = std::chrono::steady_clock::now();
  auto r = tdx::image::xts_encrypt(job, key, progress);
  ::fsync(out);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double cpu_s = cpu() - cpu0;
  if (!r) {
    std::fprintf(stderr, "bench_image: %s\n", r.error().message.c_str());
    return 1;
  }
  unsigned used = threads ? threads : std::thread::hardware_concurrency();
  std::printf("encryption: %.2f GB/s (%llu MiB, %u threads, %.3f s, AES-256-XTS, 4096-byte sectors, "
              "file to file)\n",
              static_cast<double>(job.length) / s / 1e9, static_cast<unsigned long long>(mib), used, s);
  // On a shared machine wall time mostly measures the other load; CPU time
  // says what the code costs: GB per CPU-second, times the threads used.
  std::printf("cpu: %.3f s user+sys, %.2f GB per CPU-second, %.2f GB/s on %u uncontended cores\n", cpu_s,
              static_cast<double>(job.length) / cpu_s / 1e9,
              static_cast<double>(job.length) / cpu_s / 1e9 * used, used);
  ::close(in);
  ::close(out);
  return 0;
}
