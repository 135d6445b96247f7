// The composition every verifying command shares: settings -> time, trust
// root, options -> VerifierSet. Kept beside the Verifier so a new setting is
// added in one place and reaches `quote verify`, `quote fetch` and `up`.
#include "tdxctl/quote/verify_settings.hpp"

#include "tdxctl/quote/batch.hpp"


#include <ctime>

namespace tdx::quote {

core::Result<std::unique_ptr<VerifierSet>> make_verifier(const VerifySettings& settings) {
  VerifyOptions options;
  options.at = time(nullptr);
  if (!settings.at.empty()) {
    auto at = parse_verify_time(settings.at);
    if (!at) return std::unexpected(at.error());
    options.at = *at;
  }
  options.allow_expired_collateral = settings.allow_expired_collateral;
  options.warm = !settings.cold;
  options.cache_decoded = settings.cold; // still every signature per quote; identical bytes decoded once
  auto trust = Trust::intel();
  if (!settings.trust_root.empty()) {
    auto t = Trust::from_file(settings.trust_root);
    if (!t) return std::unexpected(t.error());
    trust = std::move(*t);
  }
  return VerifierSet::open(settings.collateral, std::move(trust), options);
}

} // namespace tdx::quote
