// libvirt connection and domain handles with RAII. Every libvirt call in
// tdxctl goes through a Connection opened from --connect (qemu:///system by
// default, test:///default in tests), so the lifecycle code never sees a
// dangling pointer and every failure carries libvirt's own explanation.
#include "tdxctl/td/connection.hpp"

#include "tdxctl/libvirt/api.hpp"
#include "tdxctl/td/domain_xml.hpp"

#include <libvirt/virterror.h>

#include <cstdlib>
#include <strings.h>

namespace tdx::td {

using core::Category;

static void quiet_libvirt(void*, virErrorPtr) {}

std::string libvirt_error() {
  virErrorPtr err = libvirt::api().virGetLastError();
  return err && err->message ? err->message : "unknown libvirt error";
}

void throw_libvirt(const std::string& what) {
  throw core::Failure(Category::failed, "td.libvirt", what + ": " + libvirt_error());
}

Domain::~Domain() {
  if (m_dom) libvirt::api().virDomainFree(m_dom);
}

std::string Domain::name() const {
  const char* n = libvirt::api().virDomainGetName(m_dom);
  return n ? n : "";
}

bool Domain::active() const { return libvirt::api().virDomainIsActive(m_dom) == 1; }
bool Domain::persistent() const { return libvirt::api().virDomainIsPersistent(m_dom) == 1; }

std::string Domain::xml(bool inactive) const {
  char* x = libvirt::api().virDomainGetXMLDesc(m_dom, inactive ? VIR_DOMAIN_XML_INACTIVE : 0);
  if (!x) throw_libvirt("cannot read the XML of domain " + name());
  std::string out(x);
  std::free(x);
  return out;
}

std::string Domain::tdxctl_metadata(bool config) const {
  char* m = libvirt::api().virDomainGetMetadata(m_dom, VIR_DOMAIN_METADATA_ELEMENT, metadata_ns,
                                 config ? VIR_DOMAIN_AFFECT_CONFIG : VIR_DOMAIN_AFFECT_CURRENT);
  if (!m) return "";
  std::string out(m);
  std::free(m);
  return out;
}

std::shared_ptr<Connection> Connection::open(const std::string& uri, Access access) {
  libvirt::api().virSetErrorFunc(nullptr, quiet_libvirt);
  virConnectPtr conn = access == Access::read_only ? libvirt::api().virConnectOpenReadOnly(uri.c_str()) : libvirt::api().virConnectOpen(uri.c_str());
  if (!conn)
    throw core::Failure(Category::not_ready, "td.connect",
                        "cannot connect to libvirt at " + uri + ": " + libvirt_error(),
                        "start libvirtd (systemctl start libvirtd) or pass --connect URI");
  return std::shared_ptr<Connection>(new Connection(conn, uri));
}

Connection::~Connection() {
  if (m_conn) libvirt::api().virConnectClose(m_conn);
}

std::string Connection::domain_type() const {
  const char* type = libvirt::api().virConnectGetType(m_conn);
  return type && strcasecmp(type, "test") == 0 ? "test" : "kvm";
}

std::optional<Domain> Connection::lookup(const std::string& name) const {
  virDomainPtr dom = libvirt::api().virDomainLookupByName(m_conn, name.c_str());
  if (!dom) {
    virErrorPtr err = libvirt::api().virGetLastError();
    if (err && err->code == VIR_ERR_NO_DOMAIN) return std::nullopt;
    throw_libvirt("cannot look up domain " + name);
  }
  return Domain(dom);
}

} // namespace tdx::td
