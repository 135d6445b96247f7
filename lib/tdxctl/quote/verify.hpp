#pragma once
// DCAP quote verification as Intel's QVL does it (QUOTE-VERIFY-SPEC.md §5):
// PCK chain and CRLs, TCB info and QE identity with their signing chain, QE
// report, quote signature, TCB evaluation, all at a fixed time.
//
// A Verifier is built once per collateral set. Cold mode redoes every
// certificate, CRL and collateral signature check for each quote (what the
// peer verifiers do); warm mode checks the collateral once and each distinct
// PCK chain once (by SHA-256 of its PEM). verify() is thread-safe.

#include "tdxctl/core/error.hpp"
#include "tdxctl/core/json_writer.hpp"
#include "tdxctl/core/output.hpp"
#include "tdxctl/quote/collateral.hpp"
#include "tdxctl/quote/crypto.hpp"
#include "tdxctl/quote/quote.hpp"

#include <atomic>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

namespace tdx::quote {

// The pinned root: Intel's, or an explicit test CA (--trust-root).
struct Trust {
  X509Ptr root;
  Bytes root_spki;
  Bytes root_der; // chains must end in exactly this certificate
  bool is_intel = true;
  static Trust intel();
  static core::Result<Trust> from_file(const std::filesystem::path& pem_or_der);
  Trust share() const; // the same root (one more reference), for another Verifier
};

// Which step failed, as QVL names it (status without the STATUS_ prefix).
struct StepFailure {
  std::string step;   // pck_chain, tcb_info, qe_identity, quote, tcb_evaluation
  std::string status; // e.g. INVALID_QUOTE_SIGNATURE, TCB_NOT_SUPPORTED
  std::string message;
};

struct TcbResult {
  std::string status;
  time_t date = 0;
  std::vector<std::string> advisories; // sorted, unique
  void write_json(core::JsonWriter& w) const;
};

struct Verdict {
  bool verified = false; // crypto and collateral OK, and a TCB level matched
  std::optional<StepFailure> failure;
  std::string status; // the TCB status, or failure->status
  TcbResult tcb;      // the result (launch, or the relaunch verdict)
  std::optional<TcbResult> launch, current; // TD 1.5 quotes
  std::optional<PckInfo> pck;
  time_t collateral_expires = 0;
  bool collateral_expired = false;
  int tcb_evaluation_data_number = 0;
  // Writes the verdict's members into the object the report has open.
  void write_members(core::JsonWriter& w) const;
};

struct VerifyOptions {
  time_t at = 0;
  bool allow_expired_collateral = false;
  bool warm = true; // cache verified collateral and PCK chains
  // Cold only: reuse decoded certificates and CRLs (by content hash) while
  // still verifying every signature and window per quote.
  bool cache_decoded = false;
};

struct PreparedCollateral;
struct PckChain;
class DecodeCache;

class Verifier {
public:
  // Fails (invalid_input) only when a collateral file does not parse at all;
  // signature, chain and time problems become the verdict of each quote.
  static core::Result<std::unique_ptr<Verifier>> create(Trust trust, CollateralFiles files,
                                                        VerifyOptions options);
  ~Verifier();
  Verdict verify(const Quote& quote) const;
  const VerifyOptions& options() const { return m_options; }

private:
  Verifier(Trust trust, CollateralFiles files, VerifyOptions options);
  std::shared_ptr<const PreparedCollateral> collateral() const;
  // The chain for quote: from the warm cache, or built into *owned.
  const PckChain& pck_chain(const Quote& quote, const PreparedCollateral& c,
                            std::shared_ptr<const PckChain>& owned) const;

  using PckCache = std::map<Blob<32>, std::shared_ptr<const PckChain>>;
  Trust m_trust;
  CollateralFiles m_files;
  VerifyOptions m_options;
  std::shared_ptr<const PreparedCollateral> m_prepared; // warm
  mutable std::shared_mutex m_pck_mutex;
  mutable PckCache m_pck_cache; // never erased from: its entries live as long as the verifier
  // The entry the last quote used. A batch from one platform uses one
  // chain: the workers find it here without the lock, and no reference
  // count is touched, so no cache line moves between their cores.
  mutable std::atomic<const PckCache::value_type*> m_last_pck{nullptr};
  std::unique_ptr<DecodeCache> m_decoded;
};

// TCB evaluation alone (§5.6), for tests: nullopt = TCB_NOT_SUPPORTED.
std::optional<TcbResult> evaluate_tcb(const TcbInfo& tcb, const QeIdentity* qe,
                                      const PckInfo& pck, const Blob<16>* tee_tcb_svn,
                                      uint16_t qe_isvsvn);

} // namespace tdx::quote
