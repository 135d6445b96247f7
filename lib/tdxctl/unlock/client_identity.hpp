#pragma once
// The ephemeral TLS client identity of one unlock run: a fresh P-256 key and
// a self-signed certificate, made in memory and never written anywhere. The
// quote binds it: REPORTDATA carries SHA-256 of the certificate's DER
// SubjectPublicKeyInfo, so the key service can check that the TLS peer it
// talks to is the TD that produced the quote.

#include "tdxctl/core/error.hpp"
#include "tdxctl/core/secret.hpp"

#include <array>
#include <cstdint>
#include <string>

namespace tdx::unlock {

struct ClientIdentity {
  std::string cert_pem;
  core::Secret key_pem; // PKCS#8 PEM, wiped on destruction
  std::array<uint8_t, 32> spki_sha256{};
};

// `common_name` goes into subject and issuer ("tdx-vm-<epoch>" as today).
core::Result<ClientIdentity> make_client_identity(const std::string& common_name);

// SHA-256 of the DER SubjectPublicKeyInfo of a PEM or DER certificate (the
// key service's side of the binding; the tests use it too).
core::Result<std::array<uint8_t, 32>> spki_sha256_of_cert(std::string_view cert);

} // namespace tdx::unlock
