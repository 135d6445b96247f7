#pragma once
// Reproducible LUKS2 volumes (`image build --reproducible`, issue 21).
// libcryptsetup fills a fresh header with random bytes: the volume key, the
// two binary header salts, the keyslots area (wiped with random data), each
// keyslot's KDF salt and anti-forensic stripes, and the digest salt. Here
// every one of them is derived from the unlock key instead, and what depends
// on them (keyslot areas, digest, checksums) is recomputed, so the same key
// and plaintext give the same volume, byte for byte.
//
// The seed is argon2id of the unlock key at the keyslot's own cost, salted by
// the UUID and the image's inputs digest (luks_writer.cpp): salts derived from
// it protect the key as well as random salts would (nobody can precompute
// anything without the key, anybody with it can open the volume anyway, and
// guessing a weak key through the header costs an argon2id per guess).

#include "tdxctl/core/error.hpp"

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

namespace tdx::image {

// What every derived byte depends on: HKDF-SHA256 with the unlock key as
// input key material and the volume's UUID as salt, so one key used for two
// volumes still gives two volume keys. Each purpose has its own info label.
struct LuksSeed {
  std::string_view unlock_key; // locked bytes: the seed stretched from the unlock key, never a copy
  std::string_view uuid;       // lower-case, as libcryptsetup stores it
};

// The seed of a reproducible volume: argon2id(unlock key, salt =
// SHA-256("tdxctl luks2 seed\n" uuid "\n" context), time, memory, lanes
// capped at 4) into `out` (32 bytes). Guessing a weak key file through the
// header then costs an argon2id per guess, as through the keyslot; `context`
// (the image's inputs digest) keeps one key reused for other contents from
// giving the same volume key.
core::Result<void> stretch_luks_seed(std::string_view unlock_key, std::string_view uuid, std::string_view context,
                                     uint32_t time, uint32_t memory_kib, uint32_t lanes,
                                     std::span<unsigned char> out);

// HKDF-SHA256(key = seed.unlock_key, salt = seed.uuid, info = label) into `out`.
core::Result<void> derive_luks_bytes(const LuksSeed& seed, std::string_view label,
                                     std::span<unsigned char> out);

// The 512-bit volume key of a reproducible volume ("tdxctl luks2 volume key").
core::Result<void> derive_volume_key(const LuksSeed& seed, std::span<unsigned char> out);

// A UUID for a reproducible volume that was given none: HKDF of the unlock
// key alone ("tdxctl luks2 uuid"), shaped as a version-4 UUID.
core::Result<std::string> derive_luks_uuid(std::string_view unlock_key);

// A keyslot to re-derive and the passphrase that opens it. The argon2 cost
// libcryptsetup wrote depends on the build host (it lowers `cpus` to the
// online CPU count and `memory` to half the RAM); non-zero values here replace
// it, so the volume does not depend on where it was built.
struct DeterministicKeyslot {
  int slot = -1;
  std::string_view passphrase;   // the Secret's locked bytes, never a copy
  uint32_t memory_kib = 0;       // 0: keep the keyslot's value
  uint32_t parallel_threads = 0; // 0: keep the keyslot's value
};

// Rewrites, in place in `volume` (a LUKS2 volume libcryptsetup just formatted,
// headers at offset 0), every random part listed above with bytes derived
// from `seed`, and recomputes each keyslot area (AF split + aes-xts-plain64
// under argon2id), the digest, the JSON area of both header copies and both
// checksums. `volume_key` must be the volume's key (checked against the
// digest first); every keyslot of the volume must be in `keyslots`.
//
// Derived with these info labels (N: keyslot or digest number):
//   "tdxctl luks2 header salt primary" / "... secondary"  64 bytes each
//   "tdxctl luks2 keyslots area"   AES-256-CTR key: background of the keyslots area
//   "tdxctl luks2 keyslot N salt"  32 bytes: argon2id salt
//   "tdxctl luks2 keyslot N af stripes"  AES-256-CTR key: the AF stripes
//   "tdxctl luks2 digest N salt"   32 bytes: PBKDF2 salt of the digest
core::Result<void> make_luks_deterministic(const std::filesystem::path& volume, const LuksSeed& seed,
                                           std::span<const unsigned char> volume_key,
                                           std::span<const DeterministicKeyslot> keyslots);

} // namespace tdx::image
