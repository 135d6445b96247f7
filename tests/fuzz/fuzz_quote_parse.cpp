// libFuzzer target for the quote parser and input decoder (see
// parse_shim.cpp): any byte string must parse or return an error, never read
// out of bounds (ASan) or crash. Built and run by scripts/fuzz-quote.
#include <cstddef>
#include <cstdint>

extern "C" int tdxctl_fuzz_quote(const uint8_t* data, size_t size);

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tdxctl_fuzz_quote(data, size);
  return 0;
}
