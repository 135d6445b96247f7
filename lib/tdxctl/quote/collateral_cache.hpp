#pragma once
// The collateral cache `collateral fetch` fills and `quote verify
// --collateral`, `quote fetch --verify` and `host check` read:
// CACHE/<NAME> is a symlink to CACHE/sets/<hash>/ (one set of the seven
// files), NAME the platform's FMSPC in upper-case hex, "-sgx" appended for
// SGX collateral. Which set a quote needs is read from its PCK certificate,
// so quotes from a fleet of mixed platforms verify against one cache.

#include "tdxctl/core/error.hpp"
#include "tdxctl/quote/collateral.hpp"
#include "tdxctl/quote/quote.hpp"

#include <ctime>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace tdx::quote {

inline constexpr const char* default_collateral_cache = "/var/cache/tdxctl/collateral";

// What identifies the collateral a quote needs.
struct CollateralKey {
  Blob<6> fmspc{};
  std::string ca = "platform"; // the PCK CA, whose CRL the set carries: platform | processor
  bool tdx = true;
  std::string cache_name() const; // "B0C06F000000", or "00906ED50000-sgx"
};

// FMSPC and PCK CA from the quote's PCK certificate; `what` names the quote.
core::Result<CollateralKey> collateral_key(const Quote& quote, std::string_view what);

// True when `dir` is one set (it holds tcb_info.json) rather than a cache of sets.
bool is_collateral_set(const std::filesystem::path& dir);

// When a set was issued (the latest issue date) and when it expires (the
// earliest nextUpdate) over TCB info, QE identity and both CRLs.
struct CollateralWindow {
  time_t issued = 0;
  time_t expires = 0;
};
core::Result<CollateralWindow> collateral_window(const CollateralFiles& files);

struct CachedSet {
  std::string name; // the cache entry, e.g. B0C06F000000
  core::Result<CollateralWindow> window;
};
// Every entry of a cache (not sets/ itself), sorted by name; empty when the
// cache does not exist. An entry that does not load carries its error.
std::vector<CachedSet> list_collateral_cache(const std::filesystem::path& cache);

} // namespace tdx::quote
