// Fuzz target "quote": the quote parser and input decoder. The parser is
// C++23 (std::expected), which clang 14 cannot compile against libstdc++ 12,
// so every shim is built by g++ with ASan and comparison tracing
// (-fsanitize-coverage=trace-cmp feeds libFuzzer's value profile) and only
// the driver by clang -fsanitize=fuzzer (scripts/fuzz).
#include "tdxctl/quote/quote.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int tdxctl_fuzz_one(const uint8_t* data, size_t size) {
  auto parsed = tdx::quote::parse_quote({data, size});
  if (parsed) (void)tdx::quote::quote_to_json(*parsed);
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto decoded = tdx::quote::decode_quote_input(text, tdx::quote::InputFormat::automatic);
  if (decoded) (void)tdx::quote::parse_quote(*decoded);
  return parsed ? 1 : 0;
}
