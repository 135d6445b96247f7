// Looking up a TD's vsock CID through a td::Connection and libxml2 XPath on
// the domain XML; never string matching on XML.
#include "tdxctl/td/vsock.hpp"

#include "tdxctl/libxml/api.hpp"

#include <cstdlib>
#include <memory>

#include <fmt/format.h>

namespace tdx::td {

core::Result<uint32_t> vsock_cid_from_xml(const std::string& xml, const std::string& domain) {
  libxml::Doc doc(libxml::api().xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "domain.xml", nullptr,
                                              XML_PARSE_NONET | XML_PARSE_NOERROR));
  if (!doc) return core::fail(core::Category::failed, "td.bad_xml", fmt::format("domain {}: XML does not parse", domain));
  libxml::XPathContext ctx(libxml::api().xmlXPathNewContext(doc.get()));
  libxml::XPathObject res(libxml::api().xmlXPathEvalExpression(
      reinterpret_cast<const xmlChar*>("string(/domain/devices/vsock/cid/@address)"), ctx.get()));
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

core::Result<uint32_t> vsock_cid(const Connection& conn, const std::string& domain) {
  auto dom = conn.lookup(domain);
  if (!dom) return core::fail(core::Category::not_ready, "td.not_found", fmt::format("no libvirt domain named {}", domain));
  return vsock_cid_from_xml(dom->xml(), domain);
}

core::Result<uint32_t> vsock_cid(const std::string& uri, const std::string& domain) {
  try {
    return vsock_cid(*Connection::open(uri, Access::read_only), domain);
  } catch (const core::Failure& f) { // libvirt's reason, as a value for callers that report it
    return std::unexpected(f.error());
  }
}

} // namespace tdx::td
