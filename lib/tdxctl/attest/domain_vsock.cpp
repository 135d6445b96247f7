// Looking up a TD's vsock CID through libvirt (read-only connection) and
// libxml2 XPath on the domain XML; never string matching on XML.
#include "tdxctl/attest/domain_vsock.hpp"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>

#include <cstdlib>
#include <memory>

#include <fmt/format.h>

namespace tdx::attest {

core::Result<uint32_t> vsock_cid_from_xml(const std::string& xml, const std::string& domain) {
  std::unique_ptr<xmlDoc, decltype(&xmlFreeDoc)> doc(
      xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "domain.xml", nullptr, XML_PARSE_NONET | XML_PARSE_NOERROR),
      xmlFreeDoc);
  if (!doc) return core::fail(core::Category::failed, "td.bad_xml", fmt::format("domain {}: XML does not parse", domain));
  std::unique_ptr<xmlXPathContext, decltype(&xmlXPathFreeContext)> ctx(xmlXPathNewContext(doc.get()), xmlXPathFreeContext);
  std::unique_ptr<xmlXPathObject, decltype(&xmlXPathFreeObject)> res(
      xmlXPathEvalExpression(reinterpret_cast<const xmlChar*>("string(/domain/devices/vsock/cid/@address)"), ctx.get()),
      xmlXPathFreeObject);
  std::string value = res && res->stringval ? reinterpret_cast<const char*>(res->stringval) : "";
  if (value.empty())
    return core::fail(core::Category::not_ready, "td.no_vsock",
                      fmt::format("domain {} has no vsock device with a CID", domain),
                      "add <vsock model='virtio'><cid auto='yes'/></vsock> to the domain and start it");
  char* end = nullptr;
  unsigned long cid = std::strtoul(value.c_str(), &end, 10);
  if (*end || cid < 3 || cid > 0xffffffffUL)
    return core::fail(core::Category::failed, "td.bad_cid", fmt::format("domain {}: vsock CID '{}' is not valid", domain, value));
  return static_cast<uint32_t>(cid);
}

core::Result<uint32_t> domain_vsock_cid(const std::string& uri, const std::string& domain) {
  std::unique_ptr<virConnect, decltype(&virConnectClose)> conn(
      virConnectOpenReadOnly(uri.empty() ? nullptr : uri.c_str()), virConnectClose);
  if (!conn)
    return core::fail(core::Category::not_ready, "td.libvirt",
                      fmt::format("cannot connect to libvirt{}", uri.empty() ? "" : " at " + uri));
  std::unique_ptr<virDomain, decltype(&virDomainFree)> dom(virDomainLookupByName(conn.get(), domain.c_str()), virDomainFree);
  if (!dom) return core::fail(core::Category::not_ready, "td.not_found", fmt::format("no libvirt domain named {}", domain));
  char* xml = virDomainGetXMLDesc(dom.get(), 0);
  if (!xml) return core::fail(core::Category::failed, "td.xml", fmt::format("cannot read the XML of domain {}", domain));
  std::string text(xml);
  free(xml);
  return vsock_cid_from_xml(text, domain);
}

} // namespace tdx::attest
