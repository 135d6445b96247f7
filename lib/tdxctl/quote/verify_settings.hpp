#pragma once
// One request for "verify quotes like this": where the collateral is, which
// root to trust, at what time, and what the appraisal accepts. `quote
// verify`, `quote fetch --verify` and `up --attest` (host.yaml's attest
// section) each fill this one value and build from it with make_verifier and
// policy::appraisal_policy, so the three cannot drift apart.

#include "tdxctl/core/error.hpp"
#include "tdxctl/quote/verifier_set.hpp"
#include "tdxctl/quote/verify.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tdx::quote {

struct VerifySettings {
  std::string collateral;                // one set's directory, or the cache of `collateral fetch`
  std::string trust_root;                // empty: Intel's root CA
  std::string at;                        // RFC 3339 UTC or Unix seconds; empty: now
  bool allow_expired_collateral = false; // report expiry instead of failing
  bool cold = false;                     // re-verify collateral and PCK chains for every quote
  // The appraisal (policy::appraisal_policy builds it).
  std::string policy;                    // policy.yaml; empty: signatures and TCB status only
  std::vector<std::string> accept;       // acceptable TCB statuses; empty: the policy's
  bool allow_debug = false;
};

// The time, trust root and collateral of `settings`, opened: a set's
// directory is loaded now; a cache opens each platform's set on first use.
// An empty `at` is the moment of this call (the set's options() keep it).
core::Result<std::unique_ptr<VerifierSet>> make_verifier(const VerifySettings& settings);

} // namespace tdx::quote
