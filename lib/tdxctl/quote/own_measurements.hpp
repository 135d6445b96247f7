#pragma once
// This TD's own MRCONFIGID, as the TDX module reports it. Never from a quote
// obtained inside the guest: configfs-tsm's outblob comes back through the
// host's quote generation service, so the host could rewrite its fields
// (the guest cannot check the signature without collateral). The TDREPORT
// (TDG.MR.REPORT through /dev/tdx_guest) and the kernel's measurement
// registers in sysfs come from the TDX module into private memory.

#include "tdxctl/core/error.hpp"
#include "tdxctl/core/root.hpp"

#include <array>
#include <cstdint>
#include <span>
#include <string>

namespace tdx::quote {

inline constexpr std::string_view k_mr_config_id_sysfs = "/sys/devices/virtual/misc/tdx_guest/measurements/mrconfigid";
// TDREPORT_STRUCT: REPORTMACSTRUCT (256), TEE_TCB_INFO (239), reserved (17),
// then TDINFO_STRUCT: ATTRIBUTES (8), XFAM (8), MRTD (48), MRCONFIGID (48).
inline constexpr size_t k_td_report_size = 1024;
inline constexpr size_t k_td_report_mr_config_id = 512 + 8 + 8 + 48;

struct OwnMrConfigId {
  std::array<uint8_t, 48> value{};
  std::string source; // the sysfs file or "TDREPORT (/dev/tdx_guest)"
  bool zero() const;
};

// MRCONFIGID out of a 1024-byte TDREPORT of type TDX (0x81).
core::Result<std::array<uint8_t, 48>> mr_config_id_of_td_report(std::span<const uint8_t> td_report);

// Through the sysfs measurement register (Linux 6.16+) when the kernel has
// it, otherwise a TDREPORT from the TDX_CMD_GET_REPORT0 ioctl.
core::Result<OwnMrConfigId> read_own_mr_config_id(const core::Root& root);

} // namespace tdx::quote
