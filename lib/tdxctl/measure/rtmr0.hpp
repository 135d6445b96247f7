#pragma once
// RTMR0 of a TD that TDVF boots, event by event, in the order TDVF (edk2
// OvmfPkg, IntelTdx) extends it:
//   SEC        the TD HOB QEMU wrote (td_hob.hpp), then the CFV image
//              (TdxHelperMeasureTdHob / TdxHelperMeasureCfvImage);
//   PEI-less   the fw_cfg items QemuFwCfgCacheInit.c measures, in its list
//              order: etc/extra-pci-roots (8 bytes), BootMenu (the fixed
//              item, 2 bytes, always), etc/boot-menu-wait (2),
//              etc/reserved-memory-end (8), opt/ovmf/X-PciMmio64Mb and
//              bootorder (any non-empty size); an item of another size is
//              not measured;
//   DXE        secure-boot policy (TdTcg2Dxe MeasureAllSecureVariables):
//              SecureBoot, PK, KEK, db, dbx as UEFI_VARIABLE_DATA (absent
//              ones with no data), dbt only when present, then a separator;
//              QEMU's ACPI files (etc/table-loader, then etc/acpi/rsdp and
//              etc/acpi/tables in allocation order; acpi_loader.hpp);
//   BDS        at ReadyToBoot, BootOrder and each Boot#### it lists that
//              exists, each digest over the variable's data only.
// Inputs that only a running TD of that shape shows (the ACPI tables, the
// boot variables BDS created, non-default fw_cfg items) come from a capture
// (`tdxctl-guest measure platform`). With secure boot on, the kernel's
// authority event (EV_EFI_VARIABLE_AUTHORITY) also lands here; it is not
// predicted, and RTMR0 is then reported unknown with that reason.

#include "tdxctl/capture/platform.hpp"
#include "tdxctl/core/error.hpp"
#include "tdxctl/measure/predicted_event.hpp"
#include "tdxctl/measure/tdvf_metadata.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace tdx::measure {

// The captured platform (capture/platform.hpp); an empty one predicts up to
// the first input it lacks.
using PlatformInputs = capture::Platform;

struct Rtmr0Prediction {
  std::vector<PredictedEvent> events;  // every event up to where prediction stopped
  std::optional<std::string> unknown;  // why RTMR0 is not predicted, when it is not
};

// `platform` may lack the boot variables or the ACPI tables: RTMR0 is then
// unknown, with the reason. Errors are for malformed inputs.
core::Result<Rtmr0Prediction> predict_rtmr0(std::span<const uint8_t> firmware, const TdvfMetadata& metadata,
                                            std::string_view firmware_name, uint64_t memory_bytes,
                                            const PlatformInputs& platform);

// UEFI_VARIABLE_DATA for a variable event: VendorGuid, UnicodeNameLength
// (characters, no NUL), VariableDataLength, the UTF-16 name, the data.
std::vector<uint8_t> uefi_variable_data(std::span<const uint8_t, 16> vendor, std::string_view name,
                                        std::span<const uint8_t> data);

} // namespace tdx::measure
