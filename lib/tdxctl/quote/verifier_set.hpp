#pragma once
// The Verifier for each quote's platform. --collateral names either one set
// (a directory holding tcb_info.json: every quote is verified against it)
// or a cache of sets as `collateral fetch` lays it out (CACHE/<FMSPC>/):
// then each quote goes to the set of its own FMSPC, so a fleet of mixed
// platforms verifies in one call. A cache's sets are opened on first use
// and shared by every quote of that platform (collateral checked once).

#include "tdxctl/core/error.hpp"
#include "tdxctl/quote/collateral_cache.hpp"
#include "tdxctl/quote/verify.hpp"

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string_view>

namespace tdx::quote {

class VerifierSet {
public:
  // A set directory is loaded now (its errors are the caller's); a cache
  // only has to be a directory.
  static core::Result<std::unique_ptr<VerifierSet>> open(const std::filesystem::path& collateral, Trust trust,
                                                         VerifyOptions options);
  // The Verifier for this quote: the one set, or the cache's set for the
  // quote's FMSPC (not_ready, naming the FMSPC and the fetch command, when
  // the cache has none). Thread-safe. `what` names the quote in messages.
  core::Result<const Verifier*> for_quote(const Quote& quote, std::string_view what) const;
  // What every Verifier of the set was opened with (the time, above all).
  const VerifyOptions& options() const { return m_options; }

private:
  VerifierSet(std::filesystem::path dir, Trust trust, VerifyOptions options)
      : m_dir(std::move(dir)), m_trust(std::move(trust)), m_options(options) {}

  std::filesystem::path m_dir;
  Trust m_trust;
  VerifyOptions m_options;
  std::unique_ptr<Verifier> m_single; // --collateral named one set
  mutable std::mutex m_mutex;
  mutable std::map<std::string, core::Result<std::shared_ptr<const Verifier>>> m_by_name;
};

} // namespace tdx::quote
