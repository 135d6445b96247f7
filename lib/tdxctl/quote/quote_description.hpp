#pragma once
// What `quote show` prints about one quote: every field, decoded, and the
// PCK certificate chain it carries (the names up the chain and the PCK's
// platform facts) when it carries one. The JSON and the text are both here,
// so they list the same things.

#include "tdxctl/core/output.hpp"
#include "tdxctl/quote/crypto.hpp"
#include "tdxctl/quote/quote.hpp"

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace tdx::quote {

struct QuoteDescription {
  Quote quote;
  std::vector<std::string> pck_chain; // subject CNs, leaf first; empty when the quote carries none
  std::optional<PckInfo> pck;
  core::Json to_json() const;
  void print(std::ostream& os) const;
};

// A chain that does not parse is shown as absent, not as an error: `show`
// decodes, `verify` judges.
QuoteDescription describe_quote(Quote quote);

} // namespace tdx::quote
