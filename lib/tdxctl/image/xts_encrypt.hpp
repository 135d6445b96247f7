#pragma once
// Bulk AES-256-XTS encryption of a LUKS2 data area in userspace, laid out
// exactly as dm-crypt's aes-xts-plain64 reads it (see xts_encrypt.cpp).

#include "tdxctl/core/error.hpp"
#include "tdxctl/core/progress.hpp"

#include <cstddef>
#include <cstdint>
#include <span>

namespace tdx::image {

// in_fd == out_fd with in_offset == out_offset encrypts in place: mapped in
// huge pages on a tmpfs that has them, through one buffer per worker
// elsewhere. Other overlapping ranges of one file are refused.
struct XtsJob {
  int in_fd = -1;
  uint64_t in_offset = 0;  // where the plaintext starts in in_fd
  int out_fd = -1;
  uint64_t out_offset = 0; // where the LUKS data area starts in out_fd
  uint64_t length = 0;     // bytes; a multiple of sector_size
  uint32_t sector_size = 4096;
  unsigned threads = 0;    // 0: one per online CPU
  size_t chunk_bytes = 256u << 10; // one buffer per thread that stays in L2 (unmapped)
  // false: never mapped, always through the buffers (tests of that path;
  // a caller that cannot rule out the file shrinking under the mapping).
  bool map_in_place = true;
};

// Encrypts job.length bytes with the 64-byte (512-bit) XTS volume key. The
// tweak of each encryption sector is its byte offset in the data area / 512,
// little-endian (plain64 counts 512-byte units even with 4096-byte sectors).
core::Result<void> xts_encrypt(const XtsJob& job, std::span<const unsigned char> volume_key,
                               core::ProgressSink& progress);

// The same transform on a buffer (tests, and the worker's inner loop).
// `first_unit` is the plain64 IV of the buffer's first byte (offset / 512).
core::Result<void> xts_encrypt_buffer(std::span<const unsigned char> volume_key,
                                      uint32_t sector_size, uint64_t first_unit,
                                      std::span<const unsigned char> in, std::span<unsigned char> out,
                                      bool encrypt = true);

} // namespace tdx::image
