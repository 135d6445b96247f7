// CRL checks done once per verification (see crl.hpp). The cheap checks run
// before the signature so that a stale or misissued CRL is named for what it
// is; the time comparison is X509_cmp_time's, as in OpenSSL's own check.
#include "tdxctl/quote/crl.hpp"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <fmt/format.h>

namespace tdx::quote {
namespace {

CrlProblem problem(std::string status, std::string message) {
  return CrlProblem{std::move(status), std::move(message)};
}

bool handled_critical(int nid) { return nid == NID_authority_key_identifier || nid == NID_crl_number; }

std::string oid_of(X509_EXTENSION* ext) {
  char buf[80];
  OBJ_obj2txt(buf, sizeof buf, X509_EXTENSION_get_object(ext), 0);
  return buf;
}

// The first critical extension of the CRL or of one of its entries that is
// not understood here (OpenSSL's X509_V_ERR_UNHANDLED_CRITICAL_CRL_EXTENSION).
std::optional<std::string> unhandled_critical(X509_CRL* crl) {
  for (int i = 0; i < X509_CRL_get_ext_count(crl); ++i) {
    X509_EXTENSION* ext = X509_CRL_get_ext(crl, i);
    if (X509_EXTENSION_get_critical(ext) && !handled_critical(OBJ_obj2nid(X509_EXTENSION_get_object(ext))))
      return oid_of(ext);
  }
  STACK_OF(X509_REVOKED)* entries = X509_CRL_get_REVOKED(crl);
  for (int i = 0; i < sk_X509_REVOKED_num(entries); ++i) {
    const STACK_OF(X509_EXTENSION)* exts = X509_REVOKED_get0_extensions(sk_X509_REVOKED_value(entries, i));
    for (int j = 0; j < sk_X509_EXTENSION_num(exts); ++j) {
      X509_EXTENSION* ext = sk_X509_EXTENSION_value(exts, j);
      if (X509_EXTENSION_get_critical(ext)) return oid_of(ext) + " (on a revoked entry)";
    }
  }
  return std::nullopt;
}

} // namespace

std::optional<CrlProblem> check_crl(X509_CRL* crl, X509* issuer, std::string_view file, time_t at,
                                    bool check_time) {
  std::string by = common_name(X509_CRL_get_issuer(crl));
  if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0)
    return problem("SGX_CRL_UNKNOWN_ISSUER",
                   fmt::format("{} is issued by '{}', not by '{}'", file, by, subject_cn(issuer)));
  if ((X509_get_key_usage(issuer) & KU_CRL_SIGN) == 0)
    return problem("SGX_CRL_UNKNOWN_ISSUER",
                   fmt::format("'{}' may not sign CRLs (its keyUsage lacks cRLSign), so {} is not trusted",
                               subject_cn(issuer), file));
  if (auto oid = unhandled_critical(crl))
    return problem("SGX_CRL_INVALID_EXTENSIONS",
                   fmt::format("{} has a critical extension {} that is not understood", file, *oid));
  if (check_time) {
    const ASN1_TIME* last = X509_CRL_get0_lastUpdate(crl);
    const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl);
    int from = X509_cmp_time(last, &at);
    int to = next ? X509_cmp_time(next, &at) : 0;
    if (from == 0 || to == 0)
      return problem("SGX_CRL_EXPIRED", fmt::format("{} (issued by '{}') has {} lastUpdate/nextUpdate", file, by,
                                                    next ? "an unreadable" : "no"));
    if (from > 0 || to < 0)
      return problem("SGX_CRL_EXPIRED",
                     fmt::format("the CRL issued by '{}' ({}) is {} (valid {} to {}) at {}", by, file,
                                 from > 0 ? "not yet valid" : "expired", format_time(asn1_time_to_unix(last)),
                                 format_time(asn1_time_to_unix(next)), format_time(at)));
  }
  EVP_PKEY* key = X509_get0_pubkey(issuer);
  bool ok = key && X509_CRL_verify(crl, key) == 1;
  ERR_clear_error();
  if (!ok)
    return problem("SGX_CRL_INVALID_SIGNATURE",
                   fmt::format("the signature of {} (issued by '{}') does not verify with the key of '{}'", file, by,
                               subject_cn(issuer)));
  return std::nullopt;
}

bool is_revoked(X509_CRL* crl, X509* cert) {
  X509_REVOKED* entry = nullptr;
  return X509_CRL_get0_by_cert(crl, &entry, cert) == 1;
}

std::string serial_hex(const X509* cert) {
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  char* hex = bn ? BN_bn2hex(bn) : nullptr;
  std::string out = hex ? hex : "?";
  OPENSSL_free(hex);
  BN_free(bn);
  return out;
}

} // namespace tdx::quote
