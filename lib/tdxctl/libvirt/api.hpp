#pragma once
// The libvirt C API as tdxctl uses it (td: connections, domains, console
// streams; host: capabilities).
// Every call into libvirt.so.0 goes through api(): the library is opened on the
// first call (core::SharedLibrary), so a command that never uses it does not
// map it and its dependencies at start-up. The members are declared from the
// library's own header (decltype), so a signature can never drift from it.

#include "tdxctl/core/shared_library.hpp"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

namespace tdx::libvirt {

#define TDX_LIBVIRT_FUNCTIONS(X) \
  X(virConnectClose) \
  X(virConnectGetDomainCapabilities) \
  X(virConnectGetLibVersion) \
  X(virConnectGetType) \
  X(virConnectGetVersion) \
  X(virConnectListAllDomains) \
  X(virConnectOpen) \
  X(virConnectOpenReadOnly) \
  X(virDomainCreate) \
  X(virDomainDefineXML) \
  X(virDomainDestroy) \
  X(virDomainFree) \
  X(virDomainGetAutostart) \
  X(virDomainGetInfo) \
  X(virDomainGetMetadata) \
  X(virDomainGetName) \
  X(virDomainGetUUIDString) \
  X(virDomainGetXMLDesc) \
  X(virDomainIsActive) \
  X(virDomainIsPersistent) \
  X(virDomainLookupByName) \
  X(virDomainOpenConsole) \
  X(virDomainSetAutostart) \
  X(virDomainSetMetadata) \
  X(virDomainShutdown) \
  X(virDomainUndefine) \
  X(virDomainUndefineFlags) \
  X(virGetLastError) \
  X(virSetErrorFunc) \
  X(virStreamAbort) \
  X(virStreamFinish) \
  X(virStreamFree) \
  X(virStreamNew) \
  X(virStreamRecv) \
  X(virStreamSend)

struct Api {
  TDX_LIBVIRT_FUNCTIONS(TDX_API_MEMBER)
};

// Opens and resolves on first use (core::lazy_api); Failure(not_ready)
// naming the package when the library is missing.
const Api& api();

} // namespace tdx::libvirt
