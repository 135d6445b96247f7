#pragma once
// `collateral fetch`: download the collateral for one FMSPC from Intel PCS or
// a PCCS (PCS v4 API, issuer chains from the response headers) and store it
// in the local cache: cache/sets/<sha256 of the set>/ holds the seven files of
// the tests/data/quotes layout, and cache/<FMSPC> is a symlink to the
// current set, swapped atomically, so `quote verify --collateral
// cache/<FMSPC>` never sees a half-written set.

#include "tdxctl/core/plan.hpp"
#include "tdxctl/quote/collateral.hpp"
#include "tdxctl/quote/http.hpp"

#include <filesystem>
#include <string>

namespace tdx::quote {

inline constexpr const char* intel_pcs_url = "https://api.trustedservices.intel.com";
inline constexpr const char* intel_root_crl_url =
    "https://certificates.trustedservices.intel.com/IntelSGXRootCA.der";

struct CollateralRequest {
  std::string base_url;       // PCS or PCCS base
  bool pcs = false;           // Intel PCS: root CRL from Intel's CRL distribution point
  Blob<6> fmspc{};
  std::string ca = "platform"; // PCK CA: platform | processor
  bool tdx = true;
  HttpOptions http;
};

core::Result<CollateralFiles> fetch_collateral(const CollateralRequest& request);

// The content hash naming a set (SHA-256 over the files, in order, length-prefixed).
std::string collateral_set_hash(const CollateralFiles& files);

// Steps: write the set directory (unchanged if that hash is cached), point
// cache/<name> at it (unchanged if it already does).
core::Plan plan_store_collateral(const std::filesystem::path& cache, const std::string& name,
                                 const CollateralFiles& files);

} // namespace tdx::quote
