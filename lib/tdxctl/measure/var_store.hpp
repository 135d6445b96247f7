#pragma once
// The UEFI variables TDVF starts with: the variable store in its
// configuration firmware volume (CFV), which TDVF uses as its (volatile)
// NV store. Secure-boot policy measured into RTMR0 comes from here.
//
// Format (edk2 MdeModulePkg/Include/Guid/VariableFormat.h): an
// EFI_FIRMWARE_VOLUME_HEADER, then a VARIABLE_STORE_HEADER (authenticated or
// plain GUID), then variables on 4-byte boundaries, each a header (60 bytes
// authenticated, 32 plain) with StartId 0x55AA and a State, then the UTF-16
// name and the data with no padding between them (ALIGNMENT is 1 on x86).
// A variable is live when its State is VAR_ADDED, or VAR_ADDED with the
// in-deleted-transition bit cleared and no VAR_ADDED copy exists.

#include "tdxctl/core/error.hpp"
#include "tdxctl/measure/tdvf_metadata.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace tdx::measure {

using EfiGuid = std::array<uint8_t, 16>; // in its on-disk (mixed-endian) form

// 8be4df61-93ca-11d2-aa0d-00e098032b8c: SecureBoot, PK, KEK, BootOrder, Boot####
extern const EfiGuid kEfiGlobalVariableGuid;
// d719b2cb-3d3a-4596-a3bc-dad00e67656f: db, dbx, dbt
extern const EfiGuid kEfiImageSecurityDatabaseGuid;
// f0a30bc7-af08-4556-99c4-001009c93a44: SecureBootEnable
extern const EfiGuid kSecureBootEnableDisableGuid;

struct EfiVariable {
  std::string name; // ASCII form of the UTF-16 name (variable names TDVF measures are ASCII)
  EfiGuid vendor{};
  uint32_t attributes = 0;
  std::vector<uint8_t> data;
};

struct VariableStore {
  bool authenticated = false;
  std::vector<EfiVariable> variables; // live ones, in store order
  const EfiVariable* find(std::string_view name, const EfiGuid& vendor) const;
};

// Parses the variable store of TDVF's CFV section. Errors name the offset.
core::Result<VariableStore> parse_cfv_variable_store(std::span<const uint8_t> firmware,
                                                     const TdvfMetadata& metadata,
                                                     std::string_view name);

// Whether the firmware was built with SECURE_BOOT_ENABLE (SecurityPkg's
// AuthVariableLib, which creates the volatile SecureBoot variable at every
// boot). Read from the LZMA-compressed DXE volume: AuthVariableLib alone names
// the "certdbv" variable. nullopt when no such volume is found.
std::optional<bool> firmware_has_auth_variables(std::span<const uint8_t> firmware);

} // namespace tdx::measure
