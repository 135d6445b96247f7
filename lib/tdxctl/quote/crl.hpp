#pragma once
// Revocation for DCAP chains (QUOTE-VERIFY-SPEC.md §5.2 steps 5-7, §5.3.1),
// the explicit way §7 describes: each CRL is checked once per verification
// (issuer, extensions, signature under the issuer's key, validity window),
// then every certificate it covers is looked up by serial. OpenSSL's own
// CRL checking inside X509_verify_cert re-verifies the signature of a CRL
// for every certificate it is consulted for (the Root CA CRL four times per
// quote: CA, root, TCB signer, root); this does it once.

#include "tdxctl/quote/crypto.hpp"

#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace tdx::quote {

struct CrlProblem {
  std::string status; // QVL status without STATUS_: SGX_CRL_EXPIRED, ...
  std::string message;
};

// nullopt when `crl` is a CRL of `issuer`: its issuer name is the issuer's
// subject, the issuer may sign CRLs (keyUsage cRLSign when keyUsage is
// present), no critical extension other than the ones understood here
// (Authority Key Identifier, CRL Number), its signature verifies under the
// issuer's key, and lastUpdate <= at <= nextUpdate (unless !check_time).
// `file` names the CRL in messages.
std::optional<CrlProblem> check_crl(X509_CRL* crl, X509* issuer, std::string_view file, time_t at,
                                    bool check_time);

// True when a checked `crl` lists `cert` as revoked (a removeFromCRL entry
// of a delta CRL does not count).
bool is_revoked(X509_CRL* crl, X509* cert);

// The certificate's serial number in hex, for messages.
std::string serial_hex(const X509* cert);

} // namespace tdx::quote
