#pragma once
// The vsock CID of a libvirt domain, from its live XML:
// <devices><vsock><cid address='N'/></vsock></devices>. The one place that
// reads it: `td status`, `quote fetch --td NAME` and `up --attest` all come
// here, through a td::Connection. Host slice (libvirt, libxml2), so the
// guest-side quote library stays free of both.

#include "tdxctl/core/error.hpp"
#include "tdxctl/td/connection.hpp"

#include <cstdint>
#include <string>

namespace tdx::td {

// The CID of `domain` on `conn`: not_ready when there is no such domain or it
// has no vsock device with a CID.
core::Result<uint32_t> vsock_cid(const Connection& conn, const std::string& domain);
// The same over a read-only connection to `uri` (what a user who may not
// manage domains can still open); a failed connection is not_ready too.
core::Result<uint32_t> vsock_cid(const std::string& uri, const std::string& domain);
// The same from domain XML text (tests, and callers that already hold it).
core::Result<uint32_t> vsock_cid_from_xml(const std::string& xml, const std::string& domain);

} // namespace tdx::td
