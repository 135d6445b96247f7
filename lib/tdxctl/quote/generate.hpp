#pragma once
// Getting evidence inside a TD: a quote through Linux configfs-tsm
// (/sys/kernel/config/tsm/report), or a bare TD report through the
// /dev/tdx_guest TDX_CMD_GET_REPORT0 ioctl when no quote provider exists.
// All paths go through core::Root, so tests use a fake tree.

#include "tdxctl/core/error.hpp"
#include "tdxctl/core/hex.hpp"
#include "tdxctl/core/root.hpp"

#include <cstdint>
#include <span>
#include <string>

namespace tdx::quote {

// The primitive the image unlock code calls: a quote whose REPORTDATA is
// exactly `report_data`, through a private configfs-tsm entry created and
// removed here.
core::Result<core::Bytes> generate_quote(const core::Root& root,
                                         std::span<const uint8_t, 64> report_data);
// Same, through the named entry (created if absent, removed only if created
// here); an empty name means a private one.
core::Result<core::Bytes> generate_quote(const core::Root& root,
                                         std::span<const uint8_t, 64> report_data,
                                         const std::string& entry);

// Whether this kernel offers configfs-tsm quote generation under `root`
// (the report directory exists; whether its provider is TDX is checked when
// a quote is generated).
bool configfs_tsm_present(const core::Root& root);

// The 1024-byte TDREPORT from /dev/tdx_guest.
core::Result<core::Bytes> get_td_report(const core::Root& root,
                                        std::span<const uint8_t, 64> report_data);

} // namespace tdx::quote
