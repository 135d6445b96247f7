#pragma once
// Appraisal policy applied after DCAP verification (QUOTE-VERIFY-SPEC.md §6):
// acceptable TCB statuses, measurement pins, TD attributes (DEBUG rejected
// unless allowed), minimum SVNs and REPORTDATA binding. Intel QVL checks none
// of these; a verified quote of a debug TD proves nothing about its memory.

#include "tdxctl/core/json_writer.hpp"
#include "tdxctl/core/output.hpp"
#include "tdxctl/quote/quote.hpp"
#include "tdxctl/quote/verify.hpp"

#include <array>
#include <optional>
#include <string>
#include <vector>

namespace tdx::quote {

// The TCB statuses a verification can end in and a policy may accept (Revoked
// never is): the only values of --accept, policy.yaml's accept_tcb and
// host.yaml's attest.accept.
const std::vector<std::string>& tcb_status_names();
// "" when every name is one of them; else a message naming the first that is
// not and listing the valid ones.
std::string unknown_tcb_status(const std::vector<std::string>& names);

struct Policy {
  std::vector<std::string> accept_tcb{"UpToDate"};
  std::vector<Blob<48>> mr_td; // any of
  std::array<std::optional<Blob<48>>, 4> rtmr;
  std::optional<Blob<48>> mr_config_id, mr_owner, mr_owner_config;
  std::vector<Blob<48>> mr_seam; // any of
  std::optional<Blob<8>> xfam;
  std::optional<Blob<8>> td_attributes;
  bool allow_debug = false;
  bool require_sept_ve_disable = false;
  std::optional<Blob<16>> min_tee_tcb_svn; // component-wise
  std::optional<uint16_t> min_qe_svn;
  std::optional<uint16_t> min_pce_svn;
  std::optional<Blob<64>> report_data; // exact REPORTDATA (literal or from a nonce)
};

struct PolicyFailure {
  std::string check;
  std::string expected;
  std::string actual;
};

struct PolicyResult {
  bool passed = true;
  std::vector<PolicyFailure> failures;
  void write_json(core::JsonWriter& w) const;
};

// The policy's checks on values only evidence from TDX hardware carries
// (measurements, attributes, SVNs, REPORTDATA), by policy.yaml key: what
// sample evidence, which has none of them, cannot satisfy. accept_tcb and
// allow_debug are not listed: every policy has them.
std::vector<std::string> pinned_values(const Policy& policy);

// Every check runs (all mismatches are reported, not just the first).
PolicyResult evaluate_policy(const Policy& policy, const Quote& quote, const Verdict& verdict);

// REPORTDATA = SHA-512(nonce || user_data): the binding `quote fetch` and
// `quote verify --nonce` use.
Blob<64> nonce_report_data(std::span<const uint8_t> nonce, std::span<const uint8_t> user_data = {});

} // namespace tdx::quote
