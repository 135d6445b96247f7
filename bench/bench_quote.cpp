// bench_quote: DCAP verification throughput on the shared real vectors.
//
// Cold: every certificate, CRL and collateral signature checked for every
// quote (what Intel QVL and dcap-qvl do per call), with decoded DER reused by
// content hash; "decode too" also re-decodes every certificate and CRL. Warm: collateral and PCK
// chain verified once and cached by content hash; per quote only the QE
// report and quote signatures, the QE binding and the TCB evaluation run.
// Prints quotes/s on one thread and on all cores for both.
//
// Usage: bench_quote [SECONDS_PER_RUN] [THREADS]   (defaults 2, all cores)
#include "tdxctl/core/fs.hpp"
#include "tdxctl/quote/verify.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
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

std::vector<Vector> load_vectors() {
  std::filesystem::path dir = std::filesystem::path(TDXCTL_SHARED_DIR) / "testdata/quotes";
  struct Set {
    const char* name;
    time_t at;
    const char* status;
  };
  std::vector<Vector> out;
  for (const Set& s : {Set{"tdx-v4-b0c06f-uptodate", 1750809600, "UpToDate"},
                       Set{"tdx-v4-00806f05-outofdate", 1738368000, "OutOfDate"},
                       Set{"tdx-v5-90c06f-uptodate", 1772323200, "UpToDate"},
                       Set{"tdx-v4-50806f-debug", 1688169600, "UpToDate"}}) {
    auto raw = core::value_or_throw(core::read_file(dir / s.name / "quote.bin"));
    out.push_back(Vector{s.name, s.at, core::value_or_throw(quote::parse_quote(core::as_bytes(raw))),
                         core::value_or_throw(quote::load_collateral_dir(dir / s.name)), s.status});
  }
  return out;
}

enum class Mode { cold_strict, cold, warm };

double run(const std::vector<Vector>& vectors, Mode mode, unsigned threads, double seconds) {
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
  auto work = [&] {
    uint64_t n = 0;
    for (size_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
      size_t k = i % vectors.size();
      auto verdict = verifiers[k]->verify(vectors[k].q);
      if (!verdict.verified) std::abort();
      ++n;
    }
    total += n;
  };
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) pool.emplace_back(work);
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : pool) t.join();
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return static_cast<double>(total.load()) / elapsed;
}

} // namespace

int main(int argc, char** argv) {
  double seconds = argc > 1 ? std::atof(argv[1]) : 2.0;
  unsigned all = argc > 2 ? static_cast<unsigned>(std::atoi(argv[2])) : std::thread::hardware_concurrency();
  auto vectors = load_vectors();
  std::printf("bench_quote: %zu real vectors (v4, v5/TD1.5, GCP 8000-byte buffer), %.1f s per run\n",
              vectors.size(), seconds);
  double strict1 = run(vectors, Mode::cold_strict, 1, seconds);
  double cold1 = run(vectors, Mode::cold, 1, seconds);
  double warm1 = run(vectors, Mode::warm, 1, seconds);
  double strictn = run(vectors, Mode::cold_strict, all, seconds);
  double coldn = run(vectors, Mode::cold, all, seconds);
  double warmn = run(vectors, Mode::warm, all, seconds);
  std::printf("cold (decode every cert/CRL too), 1 thread: %8.0f quotes/s\n", strict1);
  std::printf("cold (all signatures), 1 thread:            %8.0f quotes/s  (target >= 1500)\n", cold1);
  std::printf("warm, 1 thread:                             %8.0f quotes/s  (target >= 6000)\n", warm1);
  std::printf("cold (decode too), %2u threads:              %8.0f quotes/s  (%.0f per thread)\n", all, strictn, strictn / all);
  std::printf("cold (all signatures), %2u threads:          %8.0f quotes/s  (%.0f per thread)\n", all, coldn, coldn / all);
  std::printf("warm, %2u threads:                           %8.0f quotes/s  (%.0f per thread)\n", all, warmn, warmn / all);
  return 0;
}
