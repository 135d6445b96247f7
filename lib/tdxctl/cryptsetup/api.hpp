#pragma once
// The libcryptsetup API as tdxctl uses it (the image build's LUKS2 writer;
// the unlock client's root and containerd volumes). Every call into
// libcryptsetup.so.12 goes through api(): the library is opened on the first
// call (core::SharedLibrary), so the commands that never touch LUKS do not
// map it and its dependencies (device-mapper, udev, json-c, ...) at
// start-up. The members are declared from the library's own header
// (decltype), so a signature can never drift from it. tdxctl-guest still
// lists libcryptsetup as NEEDED (the image build copies what ldd lists into
// the initramfs); there dlopen finds it already loaded.

#include "tdxctl/core/shared_library.hpp"

#include <libcryptsetup.h>

#include <memory>

namespace tdx::cryptsetup {

#define TDX_CRYPTSETUP_FUNCTIONS(X) \
  X(crypt_activate_by_passphrase) \
  X(crypt_format) \
  X(crypt_free) \
  X(crypt_get_cipher) \
  X(crypt_get_cipher_mode) \
  X(crypt_get_data_offset) \
  X(crypt_get_label) \
  X(crypt_get_sector_size) \
  X(crypt_get_uuid) \
  X(crypt_get_volume_key_size) \
  X(crypt_init) \
  X(crypt_keyslot_add_by_volume_key) \
  X(crypt_keyslot_get_pbkdf) \
  X(crypt_keyslot_max) \
  X(crypt_keyslot_status) \
  X(crypt_load) \
  X(crypt_set_label) \
  X(crypt_set_log_callback) \
  X(crypt_set_pbkdf_type) \
  X(crypt_status) \
  X(crypt_volume_key_get)

struct Api {
  TDX_CRYPTSETUP_FUNCTIONS(TDX_API_MEMBER)
};

// Opens libcryptsetup.so.12 on first use; throws core::Failure (not_ready,
// core.library) when the library is missing.
const Api& api();

// A crypt_device, freed with crypt_free.
using Device = std::unique_ptr<crypt_device, core::ApiFree<&api, &Api::crypt_free>>;

} // namespace tdx::cryptsetup
