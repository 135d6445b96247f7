// The libFuzzer entry point shared by every target in tests/fuzz/: each
// *_shim.cpp defines tdxctl_fuzz_one over one parser, and scripts/fuzz links
// this driver with the shim of the target it is asked for. Any byte string
// must parse or return an error: never read out of bounds (ASan), crash,
// throw past the shim or hang.
#include <cstddef>
#include <cstdint>

extern "C" int tdxctl_fuzz_one(const uint8_t* data, size_t size);

// g++'s -fsanitize-coverage=trace-cmp also traces floating-point comparisons
// (nlohmann's and yaml-cpp's number handling has some); clang 14's libFuzzer
// runtime has no hooks for them and nothing to learn from them.
extern "C" void __sanitizer_cov_trace_cmpf(float, float) {}
extern "C" void __sanitizer_cov_trace_cmpd(double, double) {}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tdxctl_fuzz_one(data, size);
  return 0;
}
