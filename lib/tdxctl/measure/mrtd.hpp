#pragma once
// MRTD as the TDX module builds it while QEMU + KVM add TDVF's sections.
//
// MRTD is one running SHA-384 (not an extend chain), finalised by
// TDH.MR.FINALIZE. Every TDH.MEM.PAGE.ADD feeds it a 128-byte record
// "MEM.PAGE.ADD" || 0 (to byte 16) || GPA (u64 LE) || zeros; every
// TDH.MR.EXTEND feeds "MR.EXTEND" || 0 (to byte 16) || GPA || zeros, then the
// 256 bytes at that GPA (TDX module ABI spec, TDH.MEM.PAGE.ADD/TDH.MR.EXTEND).
//
// Order (QEMU target/i386/kvm/tdx.c tdx_init_fw_mem_region, then KVM's
// tdx_gmem_post_populate): sections in metadata order; within a section,
// page by page, each PAGE.ADD immediately followed by that page's sixteen
// MR.EXTENDs when the section has the MR.EXTEND attribute. Every section QEMU
// accepts is page-added, TD_HOB and TEMP_MEM included.

#include "tdxctl/measure/digest.hpp"
#include "tdxctl/measure/tdvf_metadata.hpp"

#include <span>
#include <string_view>

namespace tdx::measure {

// The page content QEMU hands KVM: image bytes from DataOffset for BFV/CFV;
// zero pages for TEMP_MEM; TD_HOB is QEMU-written and so refused when a build
// asks to measure it (its content depends on the launch, not the image).
core::Result<Digest> compute_mrtd(std::span<const uint8_t> image, const TdvfMetadata& metadata,
                                  std::string_view name);

} // namespace tdx::measure
