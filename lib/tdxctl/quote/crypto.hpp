#pragma once
// OpenSSL building blocks for DCAP verification: owned X509/CRL/key handles,
// PEM chains and DER CRLs with errors naming the input, raw r||s ECDSA
// P-256 verification, the PCK certificate's SGX extension, the pinned Intel
// root, and RFC 3339 times.

#include "tdxctl/core/error.hpp"
#include "tdxctl/core/json_writer.hpp"
#include "tdxctl/core/output.hpp"
#include "tdxctl/quote/quote.hpp"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <ctime>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tdx::quote {

struct X509Deleter { void operator()(X509* p) const { X509_free(p); } };
struct CrlDeleter { void operator()(X509_CRL* p) const { X509_CRL_free(p); } };
struct PkeyDeleter { void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); } };
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using CrlPtr = std::unique_ptr<X509_CRL, CrlDeleter>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

// Certificates of a PEM text, in order. `what` names the input in errors.
// A certificate whose DER is exactly `known_der` is `known` itself (shared,
// not decoded again): verification passes the pinned root, since OpenSSL 3.0
// spends ~100 us decoding the public key of every certificate it decodes.
core::Result<std::vector<X509Ptr>> load_pem_chain(std::string_view pem, std::string_view what,
                                                  X509* known = nullptr,
                                                  std::span<const uint8_t> known_der = {});
core::Result<X509Ptr> load_der_cert(std::span<const uint8_t> der, std::string_view what);
// A CRL in DER, PEM, or hex text of DER (what a PCCS serves for the root CRL).
core::Result<CrlPtr> load_crl(std::string_view data, std::string_view what);

// The embedded Intel SGX Root CA (DER).
std::span<const uint8_t> intel_root_ca_der_bytes();

// A P-256 public key from raw x||y; nullptr when the point is not on the curve.
PkeyPtr p256_key_from_raw(std::span<const uint8_t, 64> xy);
// ECDSA P-256/SHA-256 over `message` with a raw r||s signature.
// Reuse::kept: the key outlives many calls (a cached PCK key); each thread
// keeps a verify context for the key it used last, so the context is not set
// up again per quote (EVP_PKEY_verify_init fetches the algorithm and scans
// OpenSSL's name map under shared locks). The context holds a reference to
// the key, so no other key can take its address while it is remembered.
enum class Reuse { once, kept };
bool verify_raw_ecdsa(EVP_PKEY* key, std::span<const uint8_t> message,
                      std::span<const uint8_t, 64> signature, Reuse reuse = Reuse::once);
// The same under the P-256 key raw x||y; nullopt when that is not a point on
// the curve. Reuse::kept: each thread keeps the last few keys it made, by
// their bytes, with a verify context each, so a batch of quotes from one
// platform builds and checks its attestation key once per thread.
std::optional<bool> verify_raw_ecdsa_p256(std::span<const uint8_t, 64> xy, std::span<const uint8_t> message,
                                          std::span<const uint8_t, 64> signature, Reuse reuse = Reuse::once);
Blob<32> sha256(std::span<const uint8_t> data);

std::string common_name(const X509_NAME* name);
std::string subject_cn(const X509* cert);
// DER of the SubjectPublicKeyInfo (the pin compares these).
Bytes spki_der(const X509* cert);
Bytes cert_der(const X509* cert);

// PCK certificate SGX extension (OID 1.2.840.113741.1.13.1), spec §2.7.
struct PckInfo {
  Blob<16> ppid{};
  std::array<uint16_t, 16> sgx_components{};
  uint16_t pcesvn = 0;
  Blob<16> cpusvn{};
  Blob<2> pce_id{};
  Blob<6> fmspc{};
  int sgx_type = -1;
  std::string ca; // "platform" or "processor", from the issuer CN
  core::Json to_json() const;
  void write_json(core::JsonWriter& w) const; // the same object, streamed
};
core::Result<PckInfo> read_pck_info(X509* pck);

// RFC 3339 "YYYY-MM-DDThh:mm:ssZ" (fractions allowed) <-> Unix seconds.
core::Result<time_t> parse_time(std::string_view text, std::string_view what);
std::string format_time(time_t t);
// The same text in a buffer of its own, for a writer that copies it anyway
// (a report renders two or three a quote; no allocation, no format parse).
struct TimeText {
  char data[32];
  size_t size = 0;
  std::string_view view() const { return {data, size}; }
};
TimeText format_time_text(time_t t);
time_t asn1_time_to_unix(const ASN1_TIME* t);

} // namespace tdx::quote
