// bench_quote: DCAP verification throughput on the shared real vectors.
//
// Three modes, all checking every certificate, CRL and collateral signature
// and every validity window that a verification checks:
//   scratch  cold from scratch, what the peers (dcap-qvl) do per call: every
//            PEM chain and CRL is decoded again for each quote; nothing
//            carries over from one quote to the next;
//   cold     the cold: every signature, CRL, revocation and window
//            checked for every quote, with decoded certificates and CRLs
//            reused by content hash (decoding is not checking);
//   warm     collateral and PCK chain verified once, cached by content hash;
//            per quote only the QE report and quote signatures, the QE
//            binding and the TCB evaluation run.
// Rates are quotes per second of wall time and per CPU-second (the sum of
// the worker threads' CPU time), so that a busy machine does not hide the
// cost of a verification.
//
// Usage: bench_quote [SECONDS_PER_RUN] [THREADS] [MODES] [SETS]
//   defaults: 2, all cores, "scratch,cold,warm", the four vectors below.
//   MODES and SETS are comma-separated; THREADS 1 runs the one-thread figures only.
#include "tdxctl/core/fs.hpp"
#include "tdxctl/quote/verify.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

using namespace tdx;

namespace {

struct Vector {
  std::string name;
  time_t at;
  quote::Quote q;
  quote::CollateralFiles files;
  std::string expect;
};

struct Set {
  const char* name;
  time_t at;
  const char* status;
};
constexpr Set all_sets[] = {{"tdx-v4-b0c06f-uptodate", 1750809600, "UpToDate"},
                            {"tdx-v4-00806f05-outofdate", 1738368000, "OutOfDate"},
                            {"tdx-v5-90c06f-uptodate", 1772323200, "UpToDate"},
                            {"tdx-v4-50806f-debug", 1688169600, "UpToDate"}};

std::set<std::string> split(const std::string& text) {
  std::set<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.insert(item);
  return out;
}

std::vector<Vector> load_vectors(const std::set<std::string>& wanted) {
  std::filesystem::path dir = std::filesystem::path(TDXCTL_TESTDATA_DIR) / "quotes";
  std::vector<Vector> out;
  for (const Set& s : all_sets) {
    if (!wanted.empty() && !wanted.contains(s.name)) continue;
    auto raw = core::value_or_throw(core::read_file(dir / s.name / "quote.bin"));
    out.push_back(Vector{s.name, s.at, core::value_or_throw(quote::parse_quote(core::as_bytes(raw))),
                         core::value_or_throw(quote::load_collateral_dir(dir / s.name)), s.status});
  }
  return out;
}

enum class Mode { scratch, cold, warm };

struct Rate {
  double wall = 0; // quotes per second of elapsed time
  double cpu = 0;  // quotes per CPU-second of the workers
};

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

Rate run(const std::vector<Vector>& vectors, Mode mode, unsigned threads, double seconds) {
  std::vector<std::unique_ptr<quote::Verifier>> verifiers;
  for (const auto& v : vectors) {
    quote::VerifyOptions o;
    o.at = v.at;
    o.warm = mode == Mode::warm;
    o.cache_decoded = mode == Mode::cold;
    verifiers.push_back(core::value_or_throw(quote::Verifier::create(quote::Trust::intel(), v.files, o)));
    auto verdict = verifiers.back()->verify(v.q); // also fills the warm cache
    if (!verdict.verified || verdict.status != v.expect) {
      std::fprintf(stderr, "%s: unexpected verdict %s\n", v.name.c_str(), verdict.status.c_str());
      std::exit(1);
    }
  }
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> total{0};
  std::atomic<uint64_t> cpu_ns{0};
  auto work = [&] {
    double cpu0 = thread_cpu_seconds();
    uint64_t n = 0;
    for (size_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
      size_t k = i % vectors.size();
      auto verdict = verifiers[k]->verify(vectors[k].q);
      if (!verdict.verified) std::abort();
      ++n;
    }
    total += n;
    cpu_ns += static_cast<uint64_t>((thread_cpu_seconds() - cpu0) * 1e9);
  };
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) pool.emplace_back(work);
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : pool) t.join();
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  double n = static_cast<double>(total.load());
  return Rate{n / elapsed, n / (static_cast<double>(cpu_ns.load()) * 1e-9)};
}

} // namespace

int main(int argc, char** argv) {
  double seconds = argc > 1 ? std::atof(argv[1]) : 2.0;
  unsigned all = argc > 2 ? static_cast<unsigned>(std::atoi(argv[2])) : std::thread::hardware_concurrency();
  std::set<std::string> modes = split(argc > 3 ? argv[3] : "scratch,cold,warm");
  auto vectors = load_vectors(split(argc > 4 ? argv[4] : ""));
  if (vectors.empty() || seconds <= 0 || all == 0) {
    std::fprintf(stderr, "usage: bench_quote [SECONDS_PER_RUN] [THREADS] [scratch,cold,warm] [SET,...]\n");
    return 2;
  }
  std::printf("bench_quote: %zu real vectors, %.1f s per run; quotes/s (wall) and per CPU-second\n",
              vectors.size(), seconds);
  for (const auto& v : vectors) std::printf("  %s\n", v.name.c_str());
  struct Row {
    const char* key;
    Mode mode;
    const char* label;
    const char* target;
  };
  const Row rows[] = {{"scratch", Mode::scratch, "cold, from scratch (decode too)", ""},
                      {"cold", Mode::cold, "cold (every signature, CRL, window)", "  target >= 1500"},
                      {"warm", Mode::warm, "warm", "  target >= 6000"}};
  for (unsigned threads : all == 1 ? std::vector<unsigned>{1} : std::vector<unsigned>{1, all})
    for (const Row& r : rows) {
      if (!modes.contains(r.key)) continue;
      Rate rate = run(vectors, r.mode, threads, seconds);
      std::printf("%-36s %2u thread%s %8.0f/s wall %8.0f/s per CPU-s%s\n", r.label, threads,
                  threads == 1 ? " " : "s", rate.wall, rate.cpu, threads == 1 ? r.target : "");
    }
  return 0;
}
