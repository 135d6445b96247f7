// Revocation with a test CA (OpenSSL API): a root, a PCK CA and a PCK leaf
// carrying the real PCK certificate's SGX extension, spliced into a real
// quote, with CRLs signed by the test CAs. Pinned via Trust (--trust-root),
// the same chain verifies up to the TCB info (which Intel signed, so it stops
// there) until a CRL lists a certificate of the chain or is signed by the
// wrong key. The real Intel CRLs with one signature byte flipped fail too.
#include "support/fixtures.hpp"

#include "tdxctl/core/fs.hpp"
#include "tdxctl/quote/verify.hpp"

#include <catch2/catch.hpp>

#include <cstring>

#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

using namespace tdx;

namespace {

constexpr time_t at = 1750809600; // 2025-06-25

EVP_PKEY* new_key() { return EVP_EC_gen("prime256v1"); }

X509_NAME* name(const char* cn) {
  X509_NAME* n = X509_NAME_new();
  X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  return n;
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

X509* make_cert(const char* cn, long serial, EVP_PKEY* key, X509* issuer, bool ca) {
  X509* c = X509_new();
  X509_set_version(c, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c), serial);
  X509_NAME* subject = name(cn);
  X509_set_subject_name(c, subject);
  X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : subject);
  X509_NAME_free(subject);
  ASN1_TIME_set(X509_getm_notBefore(c), at - 86400 * 30);
  ASN1_TIME_set(X509_getm_notAfter(c), at + 86400 * 30);
  X509_set_pubkey(c, key);
  add_ext(c, issuer ? issuer : c, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  add_ext(c, issuer ? issuer : c, NID_key_usage, ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
  add_ext(c, issuer ? issuer : c, NID_subject_key_identifier, "hash");
  add_ext(c, issuer ? issuer : c, NID_authority_key_identifier, "keyid:always");
  return c;
}

X509_CRL* make_crl(X509* issuer, EVP_PKEY* key, long revoked_serial) {
  X509_CRL* crl = X509_CRL_new();
  X509_CRL_set_version(crl, 1);
  X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer));
  ASN1_TIME* t = ASN1_TIME_set(nullptr, at - 86400);
  X509_CRL_set1_lastUpdate(crl, t);
  ASN1_TIME_set(t, at + 86400 * 20);
  X509_CRL_set1_nextUpdate(crl, t);
  ASN1_TIME_free(t);
  if (revoked_serial) {
    X509_REVOKED* r = X509_REVOKED_new();
    ASN1_INTEGER* s = ASN1_INTEGER_new();
    ASN1_INTEGER_set(s, revoked_serial);
    X509_REVOKED_set_serialNumber(r, s);
    ASN1_TIME* rt = ASN1_TIME_set(nullptr, at - 3600);
    X509_REVOKED_set_revocationDate(r, rt);
    ASN1_TIME_free(rt);
    ASN1_INTEGER_free(s);
    X509_CRL_add0_revoked(crl, r);
  }
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, nullptr, nullptr, crl, 0);
  X509_EXTENSION* aki = X509V3_EXT_conf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always");
  X509_CRL_add_ext(crl, aki, -1);
  X509_EXTENSION_free(aki);
  X509_CRL_sign(crl, key, EVP_sha256());
  return crl;
}

std::string pem(X509* c) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, c);
  char* data;
  long n = BIO_get_mem_data(b, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(b);
  return out;
}

std::string der(X509_CRL* crl) {
  unsigned char* p = nullptr;
  int n = i2d_X509_CRL(crl, &p);
  std::string out(reinterpret_cast<char*>(p), static_cast<size_t>(n));
  OPENSSL_free(p);
  return out;
}

} // namespace

TEST_CASE("revoked certificates and badly signed CRLs fail at pck_chain, cold and warm", "[quote]") {
  auto set = test::testdata() / "quotes/tdx-v4-b0c06f-uptodate";
  auto files = core::value_or_throw(quote::load_collateral_dir(set));
  auto raw = core::value_or_throw(core::read_file(set / "quote.bin"));
  auto real = core::value_or_throw(quote::parse_quote(core::as_bytes(raw)));
  auto real_chain = core::value_or_throw(quote::load_pem_chain(real.cert_data, "chain"));

  EVP_PKEY* root_key = new_key();
  EVP_PKEY* ca_key = new_key();
  EVP_PKEY* leaf_key = new_key();
  X509* root = make_cert("Test SGX Root CA", 1, root_key, nullptr, true);
  X509_sign(root, root_key, EVP_sha256());
  X509* ca = make_cert("Test SGX PCK Platform CA", 2, ca_key, root, true);
  X509_sign(ca, root_key, EVP_sha256());
  X509* leaf = make_cert("Test SGX PCK Certificate", 77, leaf_key, ca, false);
  ASN1_OBJECT* sgx = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
  X509_add_ext(leaf, X509_get_ext(real_chain[0].get(), X509_get_ext_by_OBJ(real_chain[0].get(), sgx, -1)), -1);
  ASN1_OBJECT_free(sgx);
  X509_sign(leaf, ca_key, EVP_sha256());

  // Splice the test chain into the quote (type 5 inside type 6), fixing both sizes.
  std::string chain = pem(leaf) + pem(ca) + pem(root);
  size_t inner = real.qe_report_offset + 384 + 64 + 2 + real.qe_auth_data.size(); // inner type
  std::string q = raw.substr(0, inner + 2);
  uint32_t k = static_cast<uint32_t>(chain.size());
  q.append(reinterpret_cast<const char*>(&k), 4);
  q += chain;
  uint32_t outer = static_cast<uint32_t>(q.size() - (real.qe_report_offset));
  std::memcpy(q.data() + real.qe_report_offset - 4, &outer, 4);
  uint32_t sig_len = static_cast<uint32_t>(q.size() - real.signed_len - 4);
  std::memcpy(q.data() + real.signed_len, &sig_len, 4);
  auto spliced = core::value_or_throw(quote::parse_quote(core::as_bytes(q)));

  // CRLs: which serial each lists and which key signs it (a wrong key must
  // fail the CRL signature, whichever certificate it is consulted for).
  struct Crls {
    long pck_revoked = 0, root_revoked = 0;
    EVP_PKEY* pck_signer = nullptr;
    EVP_PKEY* root_signer = nullptr;
  };
  // Mode 0: cold from scratch; 1: cold with decoded DER reused; 2: warm.
  auto verify = [&](const Crls& c, int mode) {
    quote::VerifyOptions o;
    o.at = at;
    o.warm = mode == 2;
    o.cache_decoded = mode == 1;
    auto f = files;
    X509_CRL* pck_crl = make_crl(ca, c.pck_signer ? c.pck_signer : ca_key, c.pck_revoked);
    X509_CRL* root_crl = make_crl(root, c.root_signer ? c.root_signer : root_key, c.root_revoked);
    f.pck_crl = der(pck_crl);
    f.root_ca_crl = der(root_crl);
    X509_CRL_free(pck_crl);
    X509_CRL_free(root_crl);
    quote::Trust trust;
    trust.root.reset(X509_dup(root));
    trust.root_spki = quote::spki_der(root);
    trust.root_der = quote::cert_der(root);
    trust.is_intel = false;
    auto v = core::value_or_throw(quote::Verifier::create(std::move(trust), f, o));
    auto verdict = v->verify(spliced);
    // A second verification with the same verifier gives the same verdict
    // (cold rechecks, warm answers from its cache).
    auto again = v->verify(spliced);
    CHECK(again.status == verdict.status);
    return verdict;
  };
  for (int mode : {0, 1, 2}) {
    INFO("mode " << mode);
    auto clean = verify({}, mode);
    REQUIRE(clean.failure);
    CHECK(clean.failure->step == "tcb_info"); // the test chain passed; Intel's TCB signer is not under the test root
    auto revoked = verify({.pck_revoked = 77}, mode);
    REQUIRE(revoked.failure);
    CHECK(revoked.failure->step == "pck_chain");
    CHECK(revoked.status == "PCK_REVOKED");
    CHECK_THAT(revoked.failure->message, Catch::Contains("Test SGX PCK Certificate"));
    auto other = verify({.pck_revoked = 78}, mode);
    CHECK(other.failure->step == "tcb_info");
    auto ca_revoked = verify({.root_revoked = 2}, mode);
    CHECK(ca_revoked.failure->step == "pck_chain");
    CHECK(ca_revoked.status == "SGX_INTERMEDIATE_CA_REVOKED");
    CHECK_THAT(ca_revoked.failure->message, Catch::Contains("Test SGX PCK Platform CA"));
    auto root_revoked = verify({.root_revoked = 1}, mode);
    CHECK(root_revoked.failure->step == "pck_chain");
    CHECK(root_revoked.status == "SGX_ROOT_CA_REVOKED");
    auto bad_root_crl = verify({.root_signer = ca_key}, mode);
    CHECK(bad_root_crl.failure->step == "pck_chain");
    CHECK(bad_root_crl.status == "SGX_CRL_INVALID_SIGNATURE");
    auto bad_pck_crl = verify({.pck_signer = root_key}, mode);
    CHECK(bad_pck_crl.failure->step == "pck_chain");
    CHECK(bad_pck_crl.status == "SGX_CRL_INVALID_SIGNATURE");
  }

  X509_free(leaf);
  X509_free(ca);
  X509_free(root);
  EVP_PKEY_free(leaf_key);
  EVP_PKEY_free(ca_key);
  EVP_PKEY_free(root_key);
}

TEST_CASE("a real CRL with one signature byte flipped fails at pck_chain, cold and warm", "[quote]") {
  auto set = test::testdata() / "quotes/tdx-v4-b0c06f-uptodate";
  auto files = core::value_or_throw(quote::load_collateral_dir(set));
  auto raw = core::value_or_throw(core::read_file(set / "quote.bin"));
  auto q = core::value_or_throw(quote::parse_quote(core::as_bytes(raw)));
  for (std::string quote::CollateralFiles::*crl : {&quote::CollateralFiles::root_ca_crl, &quote::CollateralFiles::pck_crl})
    for (int mode : {0, 1, 2}) {
      INFO((crl == &quote::CollateralFiles::pck_crl ? "pck_crl" : "root_ca_crl") << " mode " << mode);
      quote::VerifyOptions o;
      o.at = 1750809600;
      o.warm = mode == 2;
      o.cache_decoded = mode == 1;
      auto f = files;
      std::string& der = f.*crl;
      der.back() = static_cast<char>(der.back() ^ 0x01); // the last byte of the signature's s
      auto v = core::value_or_throw(quote::Verifier::create(quote::Trust::intel(), f, o))->verify(q);
      REQUIRE_FALSE(v.verified);
      CHECK(v.failure->step == "pck_chain");
      CHECK(v.status == "SGX_CRL_INVALID_SIGNATURE");
    }
}
