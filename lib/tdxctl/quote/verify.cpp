// DCAP verification (QUOTE-VERIFY-SPEC.md §5, QVL-2026 order): the PCK chain
// through an X509_STORE_CTX with the pinned root as the only anchor and the
// verification time fixed with X509_VERIFY_PARAM_set_time, then its
// revocation against both CRLs (crl.hpp: each CRL checked once per
// verification, not once per certificate); then the TCB info and QE identity
// (signing chain, signature over the raw JSON bytes, validity window); then
// the quote itself; then the TCB evaluation. Each failure names its step and
// QVL status.
#include "tdxctl/quote/verify.hpp"

#include "tdxctl/core/fs.hpp"
#include "tdxctl/core/hex.hpp"
#include "tdxctl/core/json_limits.hpp"
#include "tdxctl/quote/crl.hpp"

#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <tuple>
#include <unordered_map>

#include <fmt/format.h>

namespace tdx::quote {

struct PreparedCollateral {
  CrlPtr pck_crl;
  CrlPtr root_crl;
  // The Root CA CRL against the pinned root, checked once per verification
  // (cold) or once for good (warm); every chain consults it.
  std::optional<CrlProblem> root_crl_problem;
  std::shared_ptr<const TcbInfo> tcb;
  std::shared_ptr<const QeIdentity> qe;
  std::optional<StepFailure> tcb_failure;
  std::optional<StepFailure> qe_failure;
  time_t expires = 0;
  bool expired = false;
};

struct PckChain {
  std::string cert_data; // the quote's certification data it was built from
  std::optional<StepFailure> failure;
  PkeyPtr key;
  PckInfo info;
  time_t not_after = 0;
};

// Decoded certificates, CRLs and parsed TCB info / QE identity, keyed by
// their exact bytes (hashed for lookup, compared byte for byte; SHA-256 of
// the ~15 KB per quote cost more than the lookups). OpenSSL 3.0 spends
// ~100 us decoding each certificate (its public key goes through the
// provider decoders), more than verifying its signature, and the TCB info
// JSON takes ~40 us to parse. Cold verification with this cache still checks
// every signature, revocation and validity window per quote: decoding the
// same bytes again checks nothing.
class DecodeCache {
public:
  core::Result<std::vector<X509Ptr>> chain(const Trust& trust, std::string_view pem, const std::string& what) {
    {
      std::shared_lock lock(m_mutex);
      if (auto it = m_chains.find(pem); it != m_chains.end()) return copy(it->second);
    }
    auto certs = load_pem_chain(pem, what, trust.root.get(), trust.root_der);
    if (!certs) return certs;
    std::unique_lock lock(m_mutex);
    auto& slot = m_chains[std::string(pem)];
    if (slot.empty()) slot = copy(*certs);
    return certs;
  }
  core::Result<CrlPtr> crl(std::string_view data, const std::string& what) {
    {
      std::shared_lock lock(m_mutex);
      if (auto it = m_crls.find(data); it != m_crls.end()) {
        X509_CRL_up_ref(it->second.get());
        return CrlPtr(it->second.get());
      }
    }
    auto crl = load_crl(data, what);
    if (!crl) return crl;
    std::unique_lock lock(m_mutex);
    if (m_crls.find(data) == m_crls.end()) {
      X509_CRL_up_ref(crl->get());
      m_crls.emplace(std::string(data), CrlPtr(crl->get()));
    }
    return crl;
  }

  // The parse of a signed JSON value (parse_tcb_info / parse_qe_identity);
  // only successful parses are kept.
  template <class T, class Parse>
  core::Result<std::shared_ptr<const T>> parsed(std::string_view raw, Parse&& parse) {
    auto& slots = std::get<ByContent<std::shared_ptr<const T>>>(m_parsed);
    {
      std::shared_lock lock(m_mutex);
      if (auto it = slots.find(raw); it != slots.end()) return it->second;
    }
    auto value = parse(raw);
    if (!value) return std::unexpected(value.error());
    auto shared = std::make_shared<const T>(std::move(*value));
    std::unique_lock lock(m_mutex);
    return slots.emplace(std::string(raw), std::move(shared)).first->second;
  }

private:
  static std::vector<X509Ptr> copy(const std::vector<X509Ptr>& in) {
    std::vector<X509Ptr> out;
    for (const auto& c : in) {
      X509_up_ref(c.get());
      out.emplace_back(c.get());
    }
    return out;
  }
  struct ContentHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  template <class V> using ByContent = std::unordered_map<std::string, V, ContentHash, std::equal_to<>>;
  std::shared_mutex m_mutex;
  ByContent<std::vector<X509Ptr>> m_chains;
  ByContent<CrlPtr> m_crls;
  std::tuple<ByContent<std::shared_ptr<const TcbInfo>>, ByContent<std::shared_ptr<const QeIdentity>>> m_parsed;
};

namespace {

// The pinned root, wherever a chain carries it byte for byte, is the
// already decoded Trust::root.
core::Result<std::vector<X509Ptr>> decode_chain(DecodeCache* cache, const Trust& trust, std::string_view pem,
                                                const std::string& what) {
  return cache ? cache->chain(trust, pem, what) : load_pem_chain(pem, what, trust.root.get(), trust.root_der);
}

template <class T, class Parse>
core::Result<std::shared_ptr<const T>> parse_signed(DecodeCache* cache, std::string_view raw, Parse&& parse) {
  if (cache) return cache->parsed<T>(raw, parse);
  auto value = parse(raw);
  if (!value) return std::unexpected(value.error());
  return std::make_shared<const T>(std::move(*value));
}

struct StoreDeleter { void operator()(X509_STORE* p) const { X509_STORE_free(p); } };
struct StoreCtxDeleter { void operator()(X509_STORE_CTX* p) const { X509_STORE_CTX_free(p); } };

StepFailure failure(std::string step, std::string status, std::string message) {
  return StepFailure{std::move(step), std::move(status), std::move(message)};
}

std::string window(time_t from, time_t to) {
  return fmt::format("valid {} to {}", format_time(from), format_time(to));
}

// Verifies `leaf` (with `untrusted` intermediates) up to the pinned root at
// time `at`: signatures, validity windows, key usage and basic constraints.
// Revocation is checked by the caller (check_revocation below).
std::optional<StepFailure> verify_chain(const Trust& trust, X509* leaf, const std::vector<X509*>& untrusted,
                                        const VerifyOptions& o, std::string_view step) {
  std::unique_ptr<X509_STORE, StoreDeleter> store(X509_STORE_new());
  X509_STORE_add_cert(store.get(), trust.root.get());
  std::unique_ptr<X509_STORE_CTX, StoreCtxDeleter> ctx(X509_STORE_CTX_new());
  STACK_OF(X509)* chain = sk_X509_new_null();
  for (X509* c : untrusted) sk_X509_push(chain, c);
  X509_STORE_CTX_init(ctx.get(), store.get(), leaf, chain);
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  if (o.allow_expired_collateral) X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_NO_CHECK_TIME);
  else X509_VERIFY_PARAM_set_time(param, o.at);
  int ok = X509_verify_cert(ctx.get());
  // The context borrows the stack (X509_STORE_CTX_cleanup does not free it).
  struct StackFree {
    X509_STORE_CTX* ctx;
    STACK_OF(X509)* certs;
    ~StackFree() {
      X509_STORE_CTX_cleanup(ctx); // idempotent; drops the references first
      sk_X509_free(certs);
    }
  } stacks{ctx.get(), chain};
  std::optional<StepFailure> result;
  if (ok != 1) {
    int err = X509_STORE_CTX_get_error(ctx.get());
    int depth = X509_STORE_CTX_get_error_depth(ctx.get());
    X509* cert = X509_STORE_CTX_get_current_cert(ctx.get());
    std::string who = cert ? subject_cn(cert) : fmt::format("certificate at depth {}", depth);
    std::string st(step);
    if ((err == X509_V_ERR_CERT_HAS_EXPIRED || err == X509_V_ERR_CERT_NOT_YET_VALID) && cert)
      result = failure(st, step == "pck_chain" ? "SGX_PCK_CERT_CHAIN_EXPIRED" : "SGX_SIGNING_CERT_CHAIN_EXPIRED",
                       fmt::format("'{}' is {} ({}) at {}", who,
                                   err == X509_V_ERR_CERT_HAS_EXPIRED ? "expired" : "not yet valid",
                                   window(asn1_time_to_unix(X509_get0_notBefore(cert)),
                                          asn1_time_to_unix(X509_get0_notAfter(cert))),
                                   format_time(o.at)));
    else
      result = failure(st, step == "pck_chain" ? "SGX_PCK_CERT_CHAIN_UNTRUSTED" : "SGX_SIGNING_CERT_CHAIN_UNTRUSTED",
                       fmt::format("'{}' does not chain to the pinned {}: {}", who,
                                   trust.is_intel ? "Intel SGX Root CA" : "trust root",
                                   X509_verify_cert_error_string(err)));
  }
  ERR_clear_error();
  return result;
}

// Revocation of a verified chain. `checks` pairs each certificate with the
// CRL that covers it and the status QVL gives when it is listed.
struct RevocationCheck {
  X509* cert;
  X509_CRL* crl;
  const char* file;
  const char* status;
};
std::optional<StepFailure> check_revocation(std::string_view step, std::initializer_list<RevocationCheck> checks) {
  for (const auto& c : checks)
    if (is_revoked(c.crl, c.cert))
      return failure(std::string(step), c.status,
                     fmt::format("'{}' (serial {}) is revoked: {} lists it", subject_cn(c.cert), serial_hex(c.cert),
                                 c.file));
  return std::nullopt;
}

std::optional<StepFailure> crl_failure(std::string_view step, const std::optional<CrlProblem>& p) {
  if (!p) return std::nullopt;
  return failure(std::string(step), p->status, p->message);
}

// Checks a 2-certificate collateral issuer chain (Intel SGX TCB Signing,
// Root): CN, pinned root, signature, root CRL, validity at T.
struct SigningChain {
  std::vector<X509Ptr> certs;
  std::optional<StepFailure> failure;
};

SigningChain verify_signing_chain(const Trust& trust, const PreparedCollateral& c, std::string_view chain_pem,
                                  std::string_view step, std::string_view file, const VerifyOptions& o,
                                  DecodeCache* cache) {
  std::string st(step);
  SigningChain out;
  auto certs = decode_chain(cache, trust, chain_pem, fmt::format("{} issuer chain", file));
  if (!certs) {
    out.failure = failure(st, "SGX_SIGNING_CERT_CHAIN_UNTRUSTED", certs.error().message);
    return out;
  }
  out.certs = std::move(*certs);
  if (out.certs.size() != 2) {
    out.failure = failure(st, "SGX_SIGNING_CERT_CHAIN_UNTRUSTED",
                          fmt::format("{} issuer chain has {} certificates; expected 2 (Intel SGX TCB "
                                      "Signing, Intel SGX Root CA)",
                                      file, out.certs.size()));
    return out;
  }
  X509* signer = out.certs[0].get();
  X509* root = out.certs[1].get();
  if (subject_cn(signer).find("SGX TCB Signing") == std::string::npos)
    out.failure = failure(st, "SGX_SIGNING_CERT_CHAIN_UNTRUSTED",
                          fmt::format("{} is signed by '{}', not an Intel SGX TCB Signing certificate", file,
                                      subject_cn(signer)));
  else if (root != trust.root.get()) // decode_chain shares the pinned root when the bytes are equal
    out.failure = failure(st, "SGX_SIGNING_CERT_CHAIN_UNTRUSTED",
                          fmt::format("{} issuer chain ends in '{}', which is not the pinned root", file,
                                      subject_cn(root)));
  else if (auto f = verify_chain(trust, signer, {}, o, step))
    out.failure = std::move(f);
  else if (auto crl = crl_failure(step, c.root_crl_problem))
    out.failure = std::move(crl);
  else
    out.failure = check_revocation(step, {{signer, c.root_crl.get(), "root_ca_crl.der", "SGX_TCB_SIGNING_CERT_REVOKED"},
                                          {root, c.root_crl.get(), "root_ca_crl.der", "SGX_ROOT_CA_REVOKED"}});
  return out;
}

// The signature over the raw JSON member `key` of `body`, by the chain's signer.
std::optional<StepFailure> verify_signed_json(const SigningChain& chain, std::string_view body, std::string_view key,
                                              std::string_view step, std::string_view file, std::string_view bad_sig) {
  std::string st(step);
  if (chain.failure) {
    StepFailure f = *chain.failure;
    f.step = st;
    return f;
  }
  auto raw = raw_json_member(body, key);
  // Parse the envelope only (the member itself is parsed by its reader):
  // the same document with the signed value replaced by null.
  core::Json doc = core::Json::value_t::discarded;
  if (raw) {
    size_t start = static_cast<size_t>(raw->data() - body.data());
    std::string envelope = std::string(body.substr(0, start)) + "null" + std::string(body.substr(start + raw->size()));
    if (auto parsed = core::parse_untrusted_json(envelope, file)) doc = std::move(*parsed);
  }
  if (!raw || doc.is_discarded() || !doc.is_object() || !doc.contains("signature") || !doc["signature"].is_string())
    return failure(st, "UNSUPPORTED_FORMAT",
                   fmt::format("{}: expected {{\"{}\":{{...}},\"signature\":\"<hex>\"}}", file, key));
  auto sig = core::from_hex(doc["signature"].get<std::string>(), "signature");
  if (!sig || sig->size() != 64)
    return failure(st, std::string(bad_sig), fmt::format("{}: signature must be 128 hex digits", file));
  EVP_PKEY* key_pub = X509_get0_pubkey(chain.certs[0].get());
  if (!verify_raw_ecdsa(key_pub, core::as_bytes(*raw), std::span<const uint8_t, 64>(sig->data(), 64)))
    return failure(st, std::string(bad_sig),
                   fmt::format("{}: the signature over the raw \"{}\" bytes does not verify with "
                               "the TCB Signing key",
                               file, key));
  return std::nullopt;
}

std::shared_ptr<PreparedCollateral> prepare(const Trust& trust, const CollateralFiles& files,
                                            const VerifyOptions& o, CrlPtr pck_crl, CrlPtr root_crl,
                                            DecodeCache* cache) {
  auto c = std::make_shared<PreparedCollateral>();
  c->pck_crl = std::move(pck_crl);
  c->root_crl = std::move(root_crl);
  c->root_crl_problem = check_crl(c->root_crl.get(), trust.root.get(), "root_ca_crl.der", o.at,
                                  !o.allow_expired_collateral);
  c->expires = std::min(asn1_time_to_unix(X509_CRL_get0_nextUpdate(c->pck_crl.get())),
                        asn1_time_to_unix(X509_CRL_get0_nextUpdate(c->root_crl.get())));
  if (o.allow_expired_collateral)
    c->expired = o.at > c->expires || o.at < std::max(asn1_time_to_unix(X509_CRL_get0_lastUpdate(c->pck_crl.get())),
                                                      asn1_time_to_unix(X509_CRL_get0_lastUpdate(c->root_crl.get())));
  auto check_window = [&](time_t issue, time_t next, std::string_view step, std::string_view what,
                          std::string_view status) -> std::optional<StepFailure> {
    c->expires = std::min(c->expires, next);
    if (o.at >= issue && o.at <= next) return std::nullopt;
    if (o.allow_expired_collateral) {
      c->expired = true;
      return std::nullopt;
    }
    return failure(std::string(step), std::string(status),
                   fmt::format("{} is {} ({}) at {}", what, o.at > next ? "expired" : "not yet valid",
                               window(issue, next), format_time(o.at)));
  };

  // PCS sends the same TCB Signing chain with both documents: one check per
  // distinct chain (and so per certificate) per quote.
  SigningChain tcb_chain = verify_signing_chain(trust, *c, files.tcb_info_issuer_chain, "tcb_info", "tcb_info.json", o, cache);
  SigningChain qe_chain_own;
  bool same_chain = files.qe_identity_issuer_chain == files.tcb_info_issuer_chain;
  if (!same_chain)
    qe_chain_own = verify_signing_chain(trust, *c, files.qe_identity_issuer_chain, "qe_identity", "qe_identity.json", o, cache);
  const SigningChain& qe_chain = same_chain ? tcb_chain : qe_chain_own;
  c->tcb_failure = verify_signed_json(tcb_chain, files.tcb_info, "tcbInfo", "tcb_info", "tcb_info.json",
                                      "TCB_INFO_INVALID_SIGNATURE");
  if (!c->tcb_failure) {
    auto raw = raw_json_member(files.tcb_info, "tcbInfo");
    auto parsed = parse_signed<TcbInfo>(cache, *raw, [](std::string_view r) { return parse_tcb_info(r, "tcb_info.json"); });
    if (!parsed)
      c->tcb_failure = failure("tcb_info", "TCB_INFO_INVALID_FORMAT", parsed.error().message);
    else {
      c->tcb = std::move(*parsed);
      c->tcb_failure = check_window(c->tcb->issue_date, c->tcb->next_update, "tcb_info",
                                    "TCB info (tcb_info.json)", "SGX_TCB_INFO_EXPIRED");
    }
  }
  c->qe_failure = verify_signed_json(qe_chain, files.qe_identity, "enclaveIdentity", "qe_identity",
                                     "qe_identity.json", "SGX_ENCLAVE_IDENTITY_INVALID_SIGNATURE");
  if (!c->qe_failure) {
    auto raw = raw_json_member(files.qe_identity, "enclaveIdentity");
    auto parsed = parse_signed<QeIdentity>(cache, *raw, [](std::string_view r) { return parse_qe_identity(r, "qe_identity.json"); });
    if (!parsed)
      c->qe_failure = failure("qe_identity", "SGX_ENCLAVE_IDENTITY_INVALID_FORMAT", parsed.error().message);
    else {
      c->qe = std::move(*parsed);
      c->qe_failure = check_window(c->qe->issue_date, c->qe->next_update, "qe_identity",
                                   "QE identity (qe_identity.json)", "SGX_ENCLAVE_IDENTITY_EXPIRED");
    }
  }
  return c;
}

std::shared_ptr<PckChain> build_pck_chain(const Trust& trust, const Quote& q,
                                          const PreparedCollateral& c, const VerifyOptions& o,
                                          DecodeCache* cache) {
  auto out = std::make_shared<PckChain>();
  auto fail_with = [&](std::string status, std::string message) {
    out->failure = failure("pck_chain", std::move(status), std::move(message));
    return out;
  };
  if (q.cert_type != 5)
    return fail_with("UNSUPPORTED_QE_CERTIFICATION_DATA_TYPE",
                     fmt::format("certification data type {} carries no PCK chain; tdxctl needs "
                                 "type 5 (PEM PCK certificate chain)",
                                 q.cert_type));
  auto certs = decode_chain(cache, trust, q.cert_data, "PCK certificate chain in the quote");
  if (!certs) return fail_with("UNSUPPORTED_QUOTE_FORMAT", certs.error().message);
  if (certs->size() != 3)
    return fail_with("UNSUPPORTED_QUOTE_FORMAT",
                     fmt::format("the PCK certificate chain in the quote has {} certificates; "
                                 "expected 3 (PCK, PCK CA, Root CA)",
                                 certs->size()));
  X509* leaf = (*certs)[0].get();
  X509* ca = (*certs)[1].get();
  X509* root = (*certs)[2].get();
  if (subject_cn(leaf).find("SGX PCK Certificate") == std::string::npos)
    return fail_with("INVALID_PCK_CERT", fmt::format("the quote's leaf certificate is '{}', not an "
                                                     "Intel SGX PCK Certificate",
                                                     subject_cn(leaf)));
  if (subject_cn(ca).find("CA") == std::string::npos || subject_cn(root).find("SGX Root CA") == std::string::npos)
    return fail_with("SGX_PCK_CERT_CHAIN_UNTRUSTED",
                     fmt::format("the PCK chain is '{}' <- '{}' <- '{}'; expected a PCK CA and the "
                                 "Intel SGX Root CA",
                                 subject_cn(leaf), subject_cn(ca), subject_cn(root)));
  if (root != trust.root.get()) // decode_chain shares the pinned root when the bytes are equal
    return fail_with("SGX_PCK_CERT_CHAIN_UNTRUSTED",
                     "the root of the quote's PCK chain is not the pinned root certificate");
  if (X509_NAME_cmp(X509_CRL_get_issuer(c.pck_crl.get()), X509_get_issuer_name(leaf)) != 0)
    return fail_with("INVALID_PCK_CRL",
                     fmt::format("pck_crl.der is issued by '{}' but the PCK certificate by '{}'",
                                 common_name(X509_CRL_get_issuer(c.pck_crl.get())),
                                 common_name(X509_get_issuer_name(leaf))));
  auto problem = verify_chain(trust, leaf, {ca}, o, "pck_chain");
  if (!problem) problem = crl_failure("pck_chain", c.root_crl_problem);
  if (!problem)
    problem = crl_failure("pck_chain", check_crl(c.pck_crl.get(), ca, "pck_crl.der", o.at, !o.allow_expired_collateral));
  if (!problem)
    problem = check_revocation("pck_chain", {{leaf, c.pck_crl.get(), "pck_crl.der", "PCK_REVOKED"},
                                             {ca, c.root_crl.get(), "root_ca_crl.der", "SGX_INTERMEDIATE_CA_REVOKED"},
                                             {root, c.root_crl.get(), "root_ca_crl.der", "SGX_ROOT_CA_REVOKED"}});
  if (problem) {
    out->failure = std::move(problem);
    return out;
  }
  auto info = read_pck_info(leaf);
  if (!info) return fail_with("INVALID_PCK_CERT", info.error().message);
  out->info = std::move(*info);
  out->key.reset(X509_get_pubkey(leaf));
  out->not_after = std::min({asn1_time_to_unix(X509_get0_notAfter(leaf)),
                             asn1_time_to_unix(X509_get0_notAfter(ca)),
                             asn1_time_to_unix(X509_get0_notAfter(root))});
  return out;
}

bool status_known(const std::string& s) {
  static const std::set<std::string> known{"UpToDate", "SWHardeningNeeded", "ConfigurationNeeded",
                                           "ConfigurationAndSWHardeningNeeded", "OutOfDate",
                                           "OutOfDateConfigurationNeeded", "Revoked"};
  return known.contains(s);
}

std::string module_id(uint8_t major) { return fmt::format("TDX_{:02X}", major); }

const ModuleIdentity* find_module(const TcbInfo& tcb, uint8_t major) {
  std::string id = module_id(major);
  for (const auto& m : tcb.module_identities)
    if (strcasecmp(m.id.c_str(), id.c_str()) == 0) return &m;
  return nullptr;
}

} // namespace

std::optional<TcbResult> evaluate_tcb(const TcbInfo& tcb, const QeIdentity* qe, const PckInfo& pck,
                                      const Blob<16>* tee, uint16_t qe_isvsvn) {
  // 1. Platform level: the first level (descending) that the PCK and TEE_TCB_SVN meet.
  const TcbLevel* platform = nullptr;
  size_t start = (tee && (*tee)[1] > 0) ? 2 : 0;
  for (const auto& level : tcb.levels) {
    bool ok = pck.pcesvn >= level.pcesvn;
    for (size_t i = 0; ok && i < 16; ++i) ok = pck.sgx_components[i] >= level.sgx[i];
    if (tee)
      for (size_t i = start; ok && i < 16; ++i) ok = (*tee)[i] >= level.tdx[i];
    if (ok) {
      platform = &level;
      break;
    }
  }
  if (!platform || !status_known(platform->status)) return std::nullopt;
  std::vector<const TcbLevel*> parts;
  // 2. TDX module identity.
  if (tee && (*tee)[1] > 0) {
    const ModuleIdentity* m = find_module(tcb, (*tee)[1]);
    if (!m) return std::nullopt;
    const TcbLevel* ml = nullptr;
    for (const auto& l : m->levels)
      if ((*tee)[0] >= l.isvsvn) {
        ml = &l;
        break;
      }
    if (!ml || !status_known(ml->status)) return std::nullopt;
    parts.push_back(ml);
  }
  // 3. QE identity level.
  if (qe) {
    const TcbLevel* ql = nullptr;
    for (const auto& l : qe->levels)
      if (qe_isvsvn >= l.isvsvn) {
        ql = &l;
        break;
      }
    if (!ql || !status_known(ql->status)) return std::nullopt;
    parts.push_back(ql);
  }
  // 4. Converge.
  TcbResult r;
  r.status = platform->status;
  r.date = platform->date;
  std::set<std::string> adv(platform->advisories.begin(), platform->advisories.end());
  bool out_of_date = false, revoked = false;
  for (const auto* p : parts) {
    out_of_date |= p->status == "OutOfDate" || p->status == "OutOfDateConfigurationNeeded";
    revoked |= p->status == "Revoked";
    r.date = std::min(r.date, p->date);
    adv.insert(p->advisories.begin(), p->advisories.end());
  }
  if (out_of_date) {
    if (r.status == "UpToDate" || r.status == "SWHardeningNeeded") r.status = "OutOfDate";
    else if (r.status == "ConfigurationNeeded" || r.status == "ConfigurationAndSWHardeningNeeded")
      r.status = "OutOfDateConfigurationNeeded";
  }
  if (revoked) r.status = "Revoked";
  r.advisories.assign(adv.begin(), adv.end());
  return r;
}

void TcbResult::write_json(core::JsonWriter& w) const {
  w.begin_object()
      .field("tcb_status", status)
      .field("tcb_date", date ? format_time_text(date).view() : std::string_view())
      .field("advisory_ids", advisories)
      .end_object();
}

void Verdict::write_members(core::JsonWriter& w) const {
  w.field("verified", verified).field("status", status);
  if (failure)
    w.key("failure")
        .begin_object()
        .field("step", failure->step)
        .field("status", failure->status)
        .field("message", failure->message)
        .end_object();
  if (verified) {
    w.field("tcb_status", tcb.status).field("tcb_date", format_time_text(tcb.date).view()).field("advisory_ids", tcb.advisories);
    if (launch) launch->write_json(w.key("launch"));
    if (current) current->write_json(w.key("current"));
  }
  if (pck) pck->write_json(w.key("pck"));
  if (collateral_expires) w.field("collateral_expires", format_time_text(collateral_expires).view());
  w.field("collateral_expired", collateral_expired);
  if (tcb_evaluation_data_number) w.field("tcb_evaluation_data_number", tcb_evaluation_data_number);
}

Trust Trust::intel() {
  Trust t;
  auto cert = load_der_cert(intel_root_ca_der_bytes(), "embedded Intel SGX Root CA");
  t.root = std::move(*cert);
  t.root_spki = spki_der(t.root.get());
  t.root_der = cert_der(t.root.get());
  return t;
}

core::Result<Trust> Trust::from_file(const std::filesystem::path& path) {
  auto content = core::read_file(path);
  if (!content)
    return core::fail(core::Category::invalid_input, "quote.trust_root",
                      fmt::format("--trust-root {}: {}", path.string(), content.error().message));
  Trust t;
  t.is_intel = false;
  if (content->starts_with("-----BEGIN")) {
    auto certs = load_pem_chain(*content, path.string());
    if (!certs) return std::unexpected(certs.error());
    t.root = std::move(certs->front());
  } else {
    auto cert = load_der_cert(core::as_bytes(*content), path.string());
    if (!cert) return std::unexpected(cert.error());
    t.root = std::move(*cert);
  }
  t.root_spki = spki_der(t.root.get());
  t.root_der = cert_der(t.root.get());
  t.is_intel = t.root_spki == Trust::intel().root_spki;
  return t;
}

Trust Trust::share() const {
  Trust t;
  X509_up_ref(root.get());
  t.root.reset(root.get());
  t.root_spki = root_spki;
  t.root_der = root_der;
  t.is_intel = is_intel;
  return t;
}

Verifier::Verifier(Trust trust, CollateralFiles files, VerifyOptions options)
    : m_trust(std::move(trust)), m_files(std::move(files)), m_options(options),
      m_decoded(std::make_unique<DecodeCache>()) {}
Verifier::~Verifier() = default;

core::Result<std::unique_ptr<Verifier>> Verifier::create(Trust trust, CollateralFiles files,
                                                         VerifyOptions options) {
  std::unique_ptr<Verifier> v(new Verifier(std::move(trust), std::move(files), options));
  // Parse errors in the CRLs are input errors, not verdicts: check them now.
  auto pck_crl = load_crl(v->m_files.pck_crl, v->m_files.source + "/pck_crl.der");
  if (!pck_crl) return std::unexpected(pck_crl.error());
  auto root_crl = load_crl(v->m_files.root_ca_crl, v->m_files.source + "/root_ca_crl.der");
  if (!root_crl) return std::unexpected(root_crl.error());
  if (options.warm)
    v->m_prepared = prepare(v->m_trust, v->m_files, options, std::move(*pck_crl), std::move(*root_crl), nullptr);
  return v;
}

std::shared_ptr<const PreparedCollateral> Verifier::collateral() const {
  if (m_prepared) return m_prepared;
  DecodeCache* cache = m_options.cache_decoded ? m_decoded.get() : nullptr;
  auto pck_crl = cache ? cache->crl(m_files.pck_crl, "pck_crl.der") : load_crl(m_files.pck_crl, "pck_crl.der");
  auto root_crl = cache ? cache->crl(m_files.root_ca_crl, "root_ca_crl.der") : load_crl(m_files.root_ca_crl, "root_ca_crl.der");
  return prepare(m_trust, m_files, m_options, std::move(*pck_crl), std::move(*root_crl), cache);
}

const PckChain& Verifier::pck_chain(const Quote& q, const PreparedCollateral& c,
                                    std::shared_ptr<const PckChain>& owned) const {
  // The cache is keyed on the chain's bytes alone, so only a type-5 quote
  // (the one type whose bytes are a PCK chain) may use it: another type
  // carrying the same bytes must fail on its own, neither taking a good
  // chain's verdict nor leaving its failure for the good quotes after it.
  if (!m_options.warm || q.cert_type != 5) {
    owned = build_pck_chain(m_trust, q, c, m_options, m_options.cache_decoded ? m_decoded.get() : nullptr);
    return *owned;
  }
  // The last chain's own bytes are compared first: a few hundred
  // nanoseconds against several microseconds for hashing them.
  if (const auto* last = m_last_pck.load(std::memory_order_acquire); last && last->second->cert_data == q.cert_data)
    return *last->second;
  auto key = sha256(core::as_bytes(q.cert_data));
  const PckCache::value_type* entry = nullptr;
  {
    std::shared_lock lock(m_pck_mutex);
    auto it = m_pck_cache.find(key);
    if (it != m_pck_cache.end()) entry = &*it;
  }
  if (!entry) {
    auto chain = build_pck_chain(m_trust, q, c, m_options, nullptr);
    chain->cert_data = q.cert_data; // what the next quote's bytes are compared with
    std::unique_lock lock(m_pck_mutex);
    entry = &*m_pck_cache.emplace(key, std::move(chain)).first;
  }
  m_last_pck.store(entry, std::memory_order_release);
  return *entry->second;
}

namespace {

// Step 4a: the collateral is for this quote's kind and platform.
std::optional<StepFailure> check_collateral_matches(const Quote& q, const TcbInfo& tcb, const QeIdentity& qe,
                                                    const PckInfo& pck) {
  if (q.is_tdx() != (tcb.id == "TDX") || (q.is_tdx() && tcb.version < 3))
    return failure("tcb_info", "TCB_INFO_MISMATCH",
                   fmt::format("tcb_info.json is for {} (version {}) but the quote is {}", tcb.id, tcb.version,
                               q.is_tdx() ? "TDX" : "SGX"));
  if (tcb.fmspc != pck.fmspc)
    return failure("tcb_info", "TCB_INFO_MISMATCH",
                   fmt::format("the PCK certificate's FMSPC is {} but tcb_info.json is for FMSPC {}",
                               core::to_hex(pck.fmspc), core::to_hex(tcb.fmspc)));
  if (tcb.pce_id != pck.pce_id)
    return failure("tcb_info", "TCB_INFO_MISMATCH",
                   fmt::format("the PCK certificate's PCE-ID is {} but tcb_info.json has {}",
                               core::to_hex(pck.pce_id), core::to_hex(tcb.pce_id)));
  const char* want_qe = q.is_tdx() ? "TD_QE" : "QE";
  if (qe.id != want_qe || (q.is_tdx() && qe.version != 2))
    return failure("qe_identity", "QE_IDENTITY_MISMATCH",
                   fmt::format("qe_identity.json is '{}' version {}; a {} quote needs '{}'{}", qe.id, qe.version,
                               q.is_tdx() ? "TDX" : "SGX", want_qe, q.is_tdx() ? " version 2" : ""));
  return std::nullopt;
}

// Step 4b: the TDX module that signed the TD report is the one TCB info names.
std::optional<StepFailure> check_tdx_module(const Quote& q, const TcbInfo& tcb) {
  if (!q.td || !tcb.tdx_module) return std::nullopt;
  ModuleIdentity expected = *tcb.tdx_module;
  uint8_t major = q.td->tee_tcb_svn[1];
  if (major > 0) {
    if (!tcb.has_module_identities)
      return failure("tcb_info", "TCB_INFO_MISMATCH",
                     "TEE_TCB_SVN[1] > 0 but tcb_info.json has no tdxModuleIdentities");
    const ModuleIdentity* m = find_module(tcb, major);
    if (!m)
      return failure("quote", "TDX_MODULE_MISMATCH",
                     fmt::format("tcb_info.json has no TDX module identity {}", module_id(major)));
    expected = *m;
  }
  if (q.td->mr_signer_seam != expected.mrsigner)
    return failure("quote", "TDX_MODULE_MISMATCH",
                   fmt::format("MRSIGNERSEAM is {}; the TDX module identity expects {}",
                               core::to_hex(q.td->mr_signer_seam), core::to_hex(expected.mrsigner)));
  for (size_t i = 0; i < 8; ++i) {
    uint8_t seam = q.td->seam_attributes[i];
    if (seam != 0 || (seam & expected.attributes_mask[i]) != (expected.attributes[i] & expected.attributes_mask[i]))
      return failure("quote", "TDX_MODULE_MISMATCH",
                     fmt::format("SEAMATTRIBUTES is {}; expected zero and {} under mask {}",
                                 core::to_hex(q.td->seam_attributes), core::to_hex(expected.attributes),
                                 core::to_hex(expected.attributes_mask)));
  }
  return std::nullopt;
}

// Step 4c: the QE report is signed by the PCK key, binds the attestation
// key, and comes from the enclave QE identity describes.
std::optional<StepFailure> check_qe_report(const Quote& q, EVP_PKEY* pck_key, const QeIdentity& qe) {
  if (!verify_raw_ecdsa(pck_key, q.qe_report_bytes(), q.qe_report_signature, Reuse::kept))
    return failure("quote", "INVALID_QE_REPORT_SIGNATURE",
                   "the QE report signature does not verify with the PCK certificate's key");
  Bytes bound(q.attestation_key.begin(), q.attestation_key.end());
  bound.insert(bound.end(), q.qe_auth_data.begin(), q.qe_auth_data.end());
  auto digest = sha256(bound);
  if (std::memcmp(digest.data(), q.qe_report.report_data.data(), 32) != 0)
    return failure("quote", "INVALID_QE_REPORT_DATA",
                   fmt::format("QE report data[0..32] is {} but SHA-256(attestation key || QE auth data) is {}",
                               core::to_hex(std::span(q.qe_report.report_data).first(32)), core::to_hex(digest)));
  const auto& r = q.qe_report;
  bool misc_ok = true, attr_ok = true;
  for (size_t i = 0; i < 4; ++i)
    misc_ok &= ((static_cast<uint8_t>(r.misc_select >> (8 * i)) & qe.miscselect_mask[i]) == qe.miscselect[i]);
  for (size_t i = 0; i < 16; ++i) attr_ok &= ((r.attributes[i] & qe.attributes_mask[i]) == qe.attributes[i]);
  std::string why = !misc_ok                        ? "MISCSELECT does not match under the mask"
                    : !attr_ok                      ? "ATTRIBUTES do not match under the mask"
                    : r.mr_signer != qe.mrsigner    ? fmt::format("MRSIGNER is {}, expected {}", core::to_hex(r.mr_signer), core::to_hex(qe.mrsigner))
                    : r.isv_prod_id != qe.isvprodid ? fmt::format("ISVPRODID is {}, expected {}", r.isv_prod_id, qe.isvprodid)
                                                    : "";
  if (!why.empty()) return failure("qe_identity", "QE_IDENTITY_MISMATCH", "QE report: " + why);
  return std::nullopt;
}

// Step 4d: the quote itself, under the attestation key. Reuse::kept (warm,
// or cold with decoded bytes reused): a key this thread made from the same
// bytes is used again; the signature is still verified.
std::optional<StepFailure> check_quote_signature(const Quote& q, Reuse reuse) {
  auto verified = verify_raw_ecdsa_p256(q.attestation_key, q.signed_region(), q.signature, reuse);
  if (!verified)
    return failure("quote", "UNSUPPORTED_QUOTE_FORMAT", "the attestation key is not a valid P-256 point");
  if (!*verified)
    return failure("quote", "INVALID_QUOTE_SIGNATURE",
                   fmt::format("the quote signature over bytes [0, {}) does not verify with the attestation key",
                               q.signed_len));
  return std::nullopt;
}

// Step 5: the TCB level of the platform (and for TD 1.5 quotes, of the
// current module, which can turn OutOfDate into "relaunch advised").
std::optional<StepFailure> evaluate_verdict_tcb(const Quote& q, const TcbInfo& tcb, const QeIdentity& qe,
                                                const PckInfo& pck, Verdict& v) {
  const Blob<16>* tee = q.td ? &q.td->tee_tcb_svn : nullptr;
  auto not_supported = [&](std::string_view which) {
    return failure("tcb_evaluation", "TCB_NOT_SUPPORTED",
                   fmt::format("no TCB level of tcb_info.json (FMSPC {}) matches the platform's {} "
                               "(PCK SGX components, PCESVN {}, {}QE ISVSVN {})",
                               core::to_hex(tcb.fmspc), which, pck.pcesvn,
                               tee ? "TEE_TCB_SVN " + core::to_hex(*tee) + ", " : "", q.qe_report.isv_svn));
  };
  auto launch = evaluate_tcb(tcb, &qe, pck, tee, q.qe_report.isv_svn);
  if (!launch) return not_supported("TCB");
  v.tcb = *launch;
  if (!(q.td && q.td->tee_tcb_svn2 && q.body_type >= 3)) return std::nullopt;
  auto current = evaluate_tcb(tcb, &qe, pck, &*q.td->tee_tcb_svn2, q.qe_report.isv_svn);
  if (!current) return not_supported("current TCB (TEE_TCB_SVN2)");
  v.launch = *launch;
  v.current = *current;
  auto is_ood = [](const std::string& s) { return s == "OutOfDate" || s == "OutOfDateConfigurationNeeded"; };
  auto is_cfg = [](const std::string& s) { return s.find("Configuration") != std::string::npos; };
  static const std::set<std::string> current_ok{"UpToDate", "SWHardeningNeeded", "ConfigurationNeeded",
                                                "ConfigurationAndSWHardeningNeeded"};
  if (is_ood(launch->status) && current_ok.contains(current->status))
    v.tcb.status = (is_cfg(launch->status) || is_cfg(current->status)) ? "TDRelaunchAdvisedConfigurationNeeded"
                                                                        : "TDRelaunchAdvised";
  return std::nullopt;
}

} // namespace

Verdict Verifier::verify(const Quote& q) const {
  Verdict v;
  auto fail_at = [&](StepFailure f) {
    v.verified = false;
    v.status = f.status;
    v.failure = std::move(f);
    return v;
  };
  // Spec §2.3: a TD 1.5 Ex body parses, but its TD-preserving endorsements
  // are not evaluated yet, so it must not pass as a TD 1.5 quote.
  if (q.body_type == 4)
    return fail_at(failure("quote", "UNSUPPORTED_QUOTE_FORMAT",
                           "body type 4 (TD 1.5 Ex, TD-preserving endorsements) is parsed but not verified by "
                           "this version of tdxctl"));
  // Warm: the verifier's own collateral and chains, borrowed (see m_last_pck).
  std::shared_ptr<const PreparedCollateral> cold_collateral;
  const PreparedCollateral* c = m_prepared.get();
  if (!c) {
    cold_collateral = collateral();
    c = cold_collateral.get();
  }
  v.collateral_expires = c->expires;
  v.collateral_expired = c->expired;
  // 1. PCK chain and CRLs.
  std::shared_ptr<const PckChain> cold_chain;
  const PckChain* chain = &pck_chain(q, *c, cold_chain);
  if (chain->failure) return fail_at(*chain->failure);
  v.pck = chain->info;
  v.collateral_expires = std::min(v.collateral_expires, chain->not_after);
  // 2. TCB info, 3. QE identity.
  if (c->tcb_failure) return fail_at(*c->tcb_failure);
  if (c->qe_failure) return fail_at(*c->qe_failure);
  const TcbInfo& tcb = *c->tcb;
  const QeIdentity& qe = *c->qe;
  v.tcb_evaluation_data_number = tcb.evaluation_data_number;
  // 4. The quote against the PCK certificate and the collateral, in QVL's order.
  if (auto f = check_collateral_matches(q, tcb, qe, chain->info)) return fail_at(*f);
  if (auto f = check_tdx_module(q, tcb)) return fail_at(*f);
  if (auto f = check_qe_report(q, chain->key.get(), qe)) return fail_at(*f);
  if (auto f = check_quote_signature(q, m_options.warm || m_options.cache_decoded ? Reuse::kept : Reuse::once))
    return fail_at(*f);
  // 5. TCB evaluation.
  if (auto f = evaluate_verdict_tcb(q, tcb, qe, chain->info, v)) return fail_at(*f);
  v.verified = true;
  v.status = v.tcb.status;
  return v;
}

} // namespace tdx::quote
