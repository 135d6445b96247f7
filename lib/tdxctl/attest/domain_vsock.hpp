#pragma once
// The vsock CID of a libvirt domain (`quote fetch --td NAME`), from its live
// XML: <devices><vsock><cid address='N'/></vsock></devices>. Host slice
// (libvirt, libxml2), so the guest-side quote library stays free of both.

#include "tdxctl/core/error.hpp"

#include <cstdint>
#include <string>

namespace tdx::attest {

core::Result<uint32_t> domain_vsock_cid(const std::string& uri, const std::string& domain);
// The same from domain XML text (tests, and callers that already hold it).
core::Result<uint32_t> vsock_cid_from_xml(const std::string& xml, const std::string& domain);

} // namespace tdx::attest
