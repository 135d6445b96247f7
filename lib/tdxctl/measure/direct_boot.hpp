#pragma once
// The measurements of a TD that TDVF boots by QEMU direct kernel boot
// (-kernel/-initrd/-append), predicted from the launch inputs.
//
// What lands where (edk2 OvmfPkg, QEMU, Linux EFI stub; see README
// "Measured boot"):
//   MRTD   TDVF's metadata sections, as the TDX module measures them (mrtd.hpp).
//   RTMR0  TD HOB, CFV, fw_cfg items, secure-boot variables, ACPI files,
//          boot variables (rtmr0.hpp): predicted when the platform inputs
//          a capture supplies are all there.
//   RTMR1  the kernel's PE/COFF Authenticode hash (LoadImage, before
//          ReadyToBoot: PlatformBootManagerLib/QemuKernel.c), "Calling EFI
//          Application from Boot Option", the separator (TdTcg2Dxe
//          OnReadyToBoot), then the two ExitBootServices actions.
//   RTMR2  what the kernel's EFI stub measures through the CC measurement
//          protocol (PCR 9 -> RTMR2): LoadOptions as X86QemuLoadImageLib built
//          them ("initrd=initrd " prefix, UTF-16, NUL-terminated), then the
//          initrd it loads through LoadFile2.
//   RTMR3  nothing before the OS: zero.

#include "tdxctl/core/error.hpp"
#include "tdxctl/measure/digest.hpp"
#include "tdxctl/measure/predicted_event.hpp"
#include "tdxctl/measure/rtmr0.hpp"

#include <array>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace tdx::measure {

struct DirectBootInputs {
  std::span<const uint8_t> firmware;
  std::string firmware_name;
  std::span<const uint8_t> kernel;
  std::string kernel_name;
  std::optional<std::span<const uint8_t>> initrd; // absent: no -initrd
  std::string initrd_name;
  std::string cmdline;
  uint64_t memory_bytes = 0;
  // What a TD of this shape showed of its platform (RTMR0's inputs); without
  // it RTMR0 is unknown, with the first input missing named.
  PlatformInputs platform;
  // QEMU before 10.0: the firmware gets the kernel with QEMU's setup-header
  // patch (setup_header.hpp); current QEMU hands it the file untouched.
  bool legacy_qemu = false;
};

struct Prediction {
  Digest mrtd{};
  std::array<std::optional<Digest>, 4> rtmr; // nullopt: not predicted
  std::array<std::string, 4> unknown_reason;
  std::vector<PredictedEvent> events;        // in the order the TD logs them
  bool stub_measures_to_cc = false;          // the kernel's EFI stub can reach RTMR2
};

// The UEFI LoadOptions X86QemuLoadImageLib gives the kernel: "initrd=initrd "
// when an initrd is present, then the command line, each byte widened to
// CHAR16 (UnicodeSPrintAsciiFormat), plus a CHAR16 NUL. Empty when both are
// empty (LoadOptions NULL).
std::vector<uint8_t> qemu_load_options(const std::string& cmdline, bool has_initrd);

// Whether the kernel's EFI stub carries EFI_CC_MEASUREMENT_PROTOCOL_GUID
// (Linux >= 6.10: "measure into CC protocol if TCG2 is absent"). Without it
// the stub finds no TCG2 protocol under TDVF and measures nothing.
bool stub_supports_cc_measurement(std::span<const uint8_t> kernel);

core::Result<Prediction> predict_direct_boot(const DirectBootInputs& in);

std::string register_name(int rtmr);

} // namespace tdx::measure
