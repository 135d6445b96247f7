#pragma once
// The forms a quote generation service address takes in tdxctl: the ones
// libvirt's <quoteGenerationService path='...'/> can express (libvirt 12.8:
// an absolute UNIX socket path, nothing else). A vsock QGS (`vsock:2:4050`,
// QEMU's quote-generation-socket) has no libvirt form, so it is refused with
// the accepted forms rather than rendered into XML the schema rejects.

#include "tdxctl/core/error.hpp"

#include <string>
#include <string_view>

namespace tdx::host {

inline constexpr const char* qgs_address_forms =
    "an absolute UNIX socket path (/var/run/tdx-qgs/qgs.socket) or unix:/ABSOLUTE/PATH";

// The UNIX socket path `text` names ("/run/qgs.sock" or "unix:/run/qgs.sock").
// Error (invalid_input, "qgs.address") naming `what` (the flag or key) and
// the accepted forms for vsock:CID:PORT, a relative path or any other form.
core::Result<std::string> parse_qgs_address(std::string_view text, const std::string& what);

} // namespace tdx::host
