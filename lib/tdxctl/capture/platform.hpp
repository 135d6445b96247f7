#pragma once
// What a running TD shows of the platform it was launched on, for predicting
// RTMR0 of TDs of the same shape (measure/rtmr0.hpp): the fw_cfg files TDVF
// measures (QEMU's ACPI tables, RSDP and table-loader; bootorder and the
// other optional items) and the UEFI boot variables BDS created (BootOrder
// and the Boot#### it lists). `tdxctl-guest measure platform` reads them from
// sysfs and writes one JSON document (schema tdxctl.platform/1):
//   {"schema": "tdxctl.platform/1",
//    "fw_cfg": {"etc/acpi/tables": "<base64>", ...},
//    "efivars": {"BootOrder": "<base64>", "Boot0000": "<base64>", ...}}
// efivarfs prefixes each variable with its 4-byte attributes; the document
// holds the data alone, which is what TDVF measures.

#include "tdxctl/core/error.hpp"
#include "tdxctl/core/output.hpp"
#include "tdxctl/core/root.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tdx::capture {

inline constexpr std::string_view kPlatformSchema = "tdxctl.platform/1";
inline constexpr std::string_view kFwCfgByName = "/sys/firmware/qemu_fw_cfg/by_name";
inline constexpr std::string_view kEfivars = "/sys/firmware/efi/efivars";
inline constexpr std::string_view kAcpiTablesFile = "etc/acpi/tables";
// The CC event log (CCEL) ACPI table's data: the TD's own event log.
inline constexpr std::string_view kCcelData = "/sys/firmware/acpi/tables/data/CCEL";

// The fw_cfg files a capture keeps: the ones TDVF measures into RTMR0.
const std::vector<std::string>& measured_fw_cfg_files();

struct Platform {
  std::map<std::string, std::vector<uint8_t>> fw_cfg;      // by fw_cfg file name
  std::optional<std::vector<uint8_t>> boot_order;          // BootOrder's data
  std::map<uint16_t, std::vector<uint8_t>> boot_options;   // Boot#### data
  uint16_t boot_menu = 0; // QEMU's fixed BootMenu item; sysfs does not show it: QEMU's default
};

// Reads the running TD's platform under `root` (sysfs). Errors name the file:
// without qemu_fw_cfg (modprobe qemu_fw_cfg) there is nothing to capture.
core::Result<Platform> read_platform(const core::Root& root);
// One fw_cfg file's bytes (e.g. etc/acpi/tables).
core::Result<std::vector<uint8_t>> read_fw_cfg(const core::Root& root, std::string_view name);

// The TD's CC event log (the CCEL table's data), for `quote eventlog`.
core::Result<std::vector<uint8_t>> read_event_log(const core::Root& root);

core::Json platform_to_json(const Platform& p);
core::Result<Platform> platform_from_json(std::string_view text, std::string_view name);

} // namespace tdx::capture
