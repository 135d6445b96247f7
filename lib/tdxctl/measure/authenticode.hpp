#pragma once
// The PE/COFF image hash TDVF extends into RTMR1 when it loads an EFI
// application (here the kernel's EFI stub): the Authenticode digest as
// edk2's MeasurePeImageAndExtend computes it (OvmfPkg/Tcg/TdTcg2Dxe/
// MeasureBootPeCoff.c): headers without CheckSum and the certificate
// directory entry, sections in PointerToRawData order (empty ones skipped),
// then the bytes after the last section less the certificate table.

#include "tdxctl/core/error.hpp"
#include "tdxctl/measure/digest.hpp"

#include <span>
#include <string_view>

namespace tdx::measure {

core::Result<Digest> authenticode_sha384(std::span<const uint8_t> image, std::string_view name);

} // namespace tdx::measure
