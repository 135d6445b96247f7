// The binding check of `quote fetch`, kept apart from verification: it needs
// no collateral, so it can run on every fetch.
#include "tdxctl/quote/binding.hpp"

#include "tdxctl/core/hex.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace tdx::quote {

core::Result<Quote> check_report_data_binding(std::span<const uint8_t> bytes, const Blob<64>& expected) {
  auto q = parse_quote(bytes);
  if (!q) {
    auto e = q.error();
    e.category = core::Category::failed;
    e.message = "the fetched quote does not parse: " + e.message;
    return std::unexpected(std::move(e));
  }
  const Blob<64>* seen = q->td ? &q->td->report_data : q->sgx ? &q->sgx->report_data : nullptr;
  if (!seen)
    return core::fail(core::Category::failed, "quote.unbound", "the fetched quote carries no report body");
  if (!std::equal(seen->begin(), seen->end(), expected.begin()))
    return core::fail(core::Category::failed, "quote.unbound",
                      fmt::format("the fetched quote is not bound to this request: REPORTDATA is {}, expected {}",
                                  core::to_hex(*seen), core::to_hex(expected)),
                      "a replayed or relayed quote, or a guest that does not bind the nonce; nothing was saved");
  return q;
}

} // namespace tdx::quote
