// Ephemeral client key and certificate with OpenSSL 3 (EVP_EC_gen, X509_*).
// P-256 rather than today's RSA-2048: generation takes microseconds instead
// of up to a second in the initramfs, and the binding (a hash of the SPKI)
// does not depend on the key type.
#include "tdxctl/unlock/client_identity.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <memory>

namespace tdx::unlock {
namespace {

template <auto Fn> struct Deleter {
  template <class T> void operator()(T* p) const { Fn(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free>>;

core::Error openssl_error(const char* what) {
  return core::Error{core::Category::failed, "unlock.identity", std::string("OpenSSL: ") + what + " failed"};
}

std::string bio_string(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, n > 0 ? static_cast<size_t>(n) : 0);
}

core::Result<std::array<uint8_t, 32>> spki_digest(X509* cert) {
  unsigned char* der = nullptr;
  int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
  if (len <= 0) return std::unexpected(openssl_error("encoding the SubjectPublicKeyInfo"));
  std::array<uint8_t, 32> out{};
  SHA256(der, static_cast<size_t>(len), out.data());
  OPENSSL_free(der);
  return out;
}

} // namespace

core::Result<ClientIdentity> make_client_identity(const std::string& common_name) {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return std::unexpected(openssl_error("generating a P-256 key"));
  X509Ptr cert(X509_new());
  if (!cert) return std::unexpected(openssl_error("X509_new"));
  X509_set_version(cert.get(), X509_VERSION_3);
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) return std::unexpected(openssl_error("RAND_bytes"));
  serial[0] &= 0x7f; // a positive INTEGER
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  ASN1_INTEGER* sn = bn ? BN_to_ASN1_INTEGER(bn, nullptr) : nullptr;
  BN_free(bn);
  if (!sn || X509_set_serialNumber(cert.get(), sn) != 1) {
    ASN1_INTEGER_free(sn);
    return std::unexpected(openssl_error("setting the serial number"));
  }
  ASN1_INTEGER_free(sn);
  // Valid from a minute ago (guest clocks drift at boot) for one day, as today.
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  if (X509_set_pubkey(cert.get(), key.get()) != 1 || X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0)
    return std::unexpected(openssl_error("signing the client certificate"));

  ClientIdentity id;
  BioPtr cert_bio(BIO_new(BIO_s_mem()));
  if (!cert_bio || PEM_write_bio_X509(cert_bio.get(), cert.get()) != 1)
    return std::unexpected(openssl_error("PEM-encoding the certificate"));
  id.cert_pem = bio_string(cert_bio.get());
  // BIO_s_secmem keeps the private key PEM in OpenSSL's secure heap when one
  // is configured and cleanses it on free.
  BioPtr key_bio(BIO_new(BIO_s_secmem()));
  if (!key_bio || PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return std::unexpected(openssl_error("PEM-encoding the private key"));
  id.key_pem = core::Secret(bio_string(key_bio.get()));
  auto digest = spki_digest(cert.get());
  if (!digest) return std::unexpected(digest.error());
  id.spki_sha256 = *digest;
  return id;
}

core::Result<std::array<uint8_t, 32>> spki_sha256_of_cert(std::string_view text) {
  BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    auto* p = reinterpret_cast<const unsigned char*>(text.data());
    cert.reset(d2i_X509(nullptr, &p, static_cast<long>(text.size())));
  }
  if (!cert)
    return core::fail(core::Category::invalid_input, "unlock.cert", "not a PEM or DER X.509 certificate");
  return spki_digest(cert.get());
}

} // namespace tdx::unlock
