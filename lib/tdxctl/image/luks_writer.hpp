#pragma once
// Writing a LUKS2 volume from a plaintext filesystem image without dm-crypt:
// libcryptsetup formats the header and keyslots, OpenSSL fills the data area.

#include "tdxctl/core/error.hpp"
#include "tdxctl/core/output.hpp"
#include "tdxctl/core/progress.hpp"
#include "tdxctl/core/secret.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace tdx::image {

struct Argon2Cost {
  uint32_t time_ms = 2000;          // benchmarked by libcryptsetup unless iterations is set
  uint32_t iterations = 0;          // >0: fixed cost, no benchmark (tests, reproducible timing)
  uint32_t memory_kib = 262144;
  uint32_t parallel_threads = 4;
};

struct LuksOptions {
  std::string uuid;   // fixed for reproducible crypttab/cmdline; empty: random
  std::string label;  // LUKS2 label (may be empty)
  uint32_t sector_size = 4096;
  Argon2Cost unlock_cost;
  Argon2Cost recovery_cost;
  unsigned threads = 0;
  // The same unlock key, recovery passphrase, plaintext and options give the
  // same volume, byte for byte: the volume key and every salt and stripe are
  // derived (luks_deterministic.hpp) from a seed that argon2id stretches from
  // the unlock key at the keyslot's cost. Needs fixed argon2 costs
  // (iterations > 0); an empty uuid is derived from the seed too.
  bool reproducible = false;
  // Mixed into a reproducible volume's seed (the image's inputs digest), so
  // the same key for different contents never gives the same volume key.
  std::string seed_context;
};

struct LuksInfo {
  std::string uuid;
  std::string cipher = "aes-xts-plain64";
  uint32_t key_bits = 512;
  uint32_t sector_size = 4096;
  uint64_t data_offset = 0;   // bytes from the start of the volume
  uint64_t payload_bytes = 0; // the encrypted filesystem
  int unlock_keyslot = -1;
  int recovery_keyslot = -1;  // -1: none
  core::Json to_json() const;
};

// The LUKS2 header and keyslots area (libcryptsetup's default): the data
// area starts this far into the volume.
inline constexpr uint64_t luks_header_bytes = 16ull << 20;

// The size a LUKS2 volume needs for `payload_bytes` of filesystem with the
// default 16 MiB header area.
uint64_t luks_volume_size(uint64_t payload_bytes);

// Makes bytes [volume_offset, volume_offset + luks_volume_size(payload_bytes))
// of `image` a LUKS2 volume in place. Its data area, from volume_offset +
// 16 MiB, already holds the plaintext filesystem (`image build` has mke2fs
// write it there), and is encrypted where it lies, so the root is never
// copied; the header goes in front of it once all of it is encrypted.
// Otherwise as write_luks_volume.
core::Result<LuksInfo> encrypt_luks_in_place(const std::filesystem::path& image, uint64_t volume_offset,
                                             uint64_t payload_bytes, const core::Secret& unlock_key,
                                             const core::Secret* recovery, const LuksOptions& options,
                                             core::ProgressSink& progress);

// Writes `output` (created or truncated; a plain file) as a LUKS2 volume
// whose data area is `plaintext` encrypted; on failure `output` is removed.
// The unlock key goes into one argon2id keyslot, the optional recovery
// passphrase into a second one. The volume key exists only in locked-down
// memory for the duration of the call. The header is formatted in memory
// and written last, after the data area. With options.reproducible it is
// checked by libcryptsetup first (it loads, and every keyslot yields the
// derived volume key), before any data is written; a mismatch is an error
// with code image.luks.reproducible.
core::Result<LuksInfo> write_luks_volume(const std::filesystem::path& plaintext,
                                         const std::filesystem::path& output,
                                         const core::Secret& unlock_key,
                                         const core::Secret* recovery, const LuksOptions& options,
                                         core::ProgressSink& progress);

// Reads the header of a LUKS2 volume (file or a byte range in a disk image
// copied out to a file): UUID, cipher, sector size, keyslots. No key needed.
core::Result<core::Json> read_luks_header(const std::filesystem::path& volume);

} // namespace tdx::image
