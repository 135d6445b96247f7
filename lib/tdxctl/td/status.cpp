// `td status` and `td list`: what libvirt holds, read back through the C API
// and the live domain XML (XPath), plus what tdxctl recorded in the domain
// metadata at define time: profile (tdx / no-tdx), debug, and the topology
// digest, so a change of virtual hardware is visible before it breaks the
// TD's RTMR0 reference values.
#include "tdxctl/td/lifecycle.hpp"

#include "tdxctl/libvirt/api.hpp"
#include "tdxctl/libxml/api.hpp"
#include "tdxctl/td/vsock.hpp"

#include <algorithm>
#include <chrono>
#include <ostream>

namespace tdx::td {

using core::Category;

namespace {

const char* state_name(int state) {
  switch (state) {
  case VIR_DOMAIN_RUNNING: return "running";
  case VIR_DOMAIN_BLOCKED: return "blocked";
  case VIR_DOMAIN_PAUSED: return "paused";
  case VIR_DOMAIN_SHUTDOWN: return "shutting down";
  case VIR_DOMAIN_SHUTOFF: return "shut off";
  case VIR_DOMAIN_CRASHED: return "crashed";
  case VIR_DOMAIN_PMSUSPENDED: return "suspended";
  default: return "unknown";
  }
}

class XPathDoc {
public:
  explicit XPathDoc(const std::string& xml)
      : m_doc(libxml::api().xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "domain.xml", nullptr,
                                          XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)),
        m_ctx(m_doc ? libxml::api().xmlXPathNewContext(m_doc.get()) : nullptr) {
  }
  bool ok() const { return m_ctx != nullptr; }
  std::vector<xmlNodePtr> nodes(const char* expr, xmlNodePtr at = nullptr) const {
    std::vector<xmlNodePtr> out;
    if (!m_ctx) return out;
    m_ctx->node = at ? at : libxml::api().xmlDocGetRootElement(m_doc.get());
    libxml::XPathObject res(libxml::api().xmlXPathEvalExpression(BAD_CAST expr, m_ctx.get()));
    if (res && res->nodesetval)
      for (int i = 0; i < res->nodesetval->nodeNr; ++i) out.push_back(res->nodesetval->nodeTab[i]);
    return out;
  }
  std::string text(const char* expr, xmlNodePtr at = nullptr) const {
    auto n = nodes(expr, at);
    if (n.empty()) return "";
    xmlChar* c = libxml::api().xmlNodeGetContent(n[0]);
    std::string s = c ? reinterpret_cast<const char*>(c) : "";
    libxml::api().free(c);
    return s;
  }

private:
  libxml::Doc m_doc;
  libxml::XPathContext m_ctx;
};

void read_metadata(const Domain& dom, std::string& profile, bool& debug, bool& insecure,
                   std::string& digest, bool config = false) {
  std::string meta = dom.tdxctl_metadata(config);
  if (meta.empty()) return;
  XPathDoc doc(meta);
  profile = doc.text("/*/@profile");
  debug = doc.text("/*/@debug") == "yes";
  insecure = doc.text("/*/@insecure") == "yes";
  digest = doc.text("/*/*[local-name()='topology-digest']");
}

} // namespace

std::string recorded_topology_digest(const Domain& dom) {
  std::string profile, digest;
  bool debug = false, insecure = false;
  read_metadata(dom, profile, debug, insecure, digest, dom.persistent());
  return digest;
}

core::Result<DomainStatus> domain_status(const Connection& conn, const std::string& name) {
  auto dom = conn.lookup(name);
  if (!dom)
    return core::fail(Category::not_ready, "td.no_domain",
                      "no domain named '" + name + "' at " + conn.uri(),
                      "see `tdxctl td list`, or define it with `tdxctl td launch`");
  DomainStatus st;
  st.name = name;
  virDomainInfo info{};
  if (libvirt::api().virDomainGetInfo(dom->get(), &info) != 0) throw_libvirt("cannot read the state of " + name);
  st.state = state_name(info.state);
  st.vcpus = info.nrVirtCpu;
  st.memory_kib = info.maxMem;
  st.persistent = dom->persistent();
  int autostart = 0;
  if (libvirt::api().virDomainGetAutostart(dom->get(), &autostart) == 0) st.autostart = autostart == 1;
  char uuid[VIR_UUID_STRING_BUFLEN] = {};
  if (libvirt::api().virDomainGetUUIDString(dom->get(), uuid) == 0) st.uuid = uuid;
  read_metadata(*dom, st.profile, st.debug, st.insecure, st.topology_digest);
  if (dom->active() && st.persistent) {
    auto defined = recorded_topology_digest(*dom);
    if (defined != st.topology_digest) st.pending_digest = defined;
  }

  auto xml_text = dom->xml();
  XPathDoc xml(xml_text);
  if (!xml.ok()) throw core::Failure(Category::failed, "td.xml_parse", "libvirt returned bad XML");
  st.tdx = !xml.nodes("/domain/launchSecurity[@type='tdx']").empty();
  if (dom->active()) {
    std::string started = xml.text("/domain/metadata/*[local-name()='run']/@started");
    if (!started.empty()) {
      auto now = std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
      st.uptime_s = now - std::stoll(started);
    }
    st.console = xml.text("/domain/devices/console/source/@path");
    if (st.console.empty()) st.console = xml.text("/domain/devices/console/@tty");
  }
  if (auto cid = vsock_cid_from_xml(xml_text, name)) st.vsock_cid = static_cast<int>(*cid);
  for (auto* d : xml.nodes("/domain/devices/disk")) {
    std::string src = xml.text("source/@file", d);
    if (src.empty()) src = xml.text("source/@dev", d);
    st.devices.push_back({"disk", xml.text("target/@dev", d) + " serial=" + xml.text("serial", d) +
                                      " " + src});
  }
  for (auto* d : xml.nodes("/domain/devices/interface")) {
    std::string src = xml.text("source/@bridge", d);
    if (src.empty()) src = xml.text("source/@dev", d);
    if (src.empty()) src = xml.text("source/@network", d);
    st.devices.push_back({"interface", xml.text("@type", d) + " " + src + " mac=" +
                                           xml.text("mac/@address", d)});
  }
  for (auto* d : xml.nodes("/domain/devices/hostdev[@type='pci']")) {
    auto h = [&](const char* a) {
      std::string v = xml.text((std::string("source/address/@") + a).c_str(), d);
      return v.starts_with("0x") ? v.substr(2) : v;
    };
    st.devices.push_back({"hostdev", h("domain") + ":" + h("bus") + ":" + h("slot") + "." +
                                         h("function")});
  }
  if (st.vsock_cid >= 0) st.devices.push_back({"vsock", "cid=" + std::to_string(st.vsock_cid)});
  return st;
}

core::Json DomainStatus::to_json() const {
  core::Json devs = core::Json::array();
  for (const auto& d : devices) devs.push_back({{"kind", d.kind}, {"detail", d.detail}});
  core::Json j = {{"name", name},
                  {"uuid", uuid},
                  {"state", state},
                  {"persistent", persistent},
                  {"autostart", autostart},
                  {"uptime_s", uptime_s < 0 ? core::Json(nullptr) : core::Json(uptime_s)},
                  {"vcpus", vcpus},
                  {"memory_kib", memory_kib},
                  {"tdx", tdx},
                  {"profile", profile.empty() ? core::Json(nullptr) : core::Json(profile)},
                  {"debug", debug},
                  {"insecure", insecure || !tdx},
                  {"topology_digest",
                   topology_digest.empty() ? core::Json(nullptr) : core::Json(topology_digest)},
                  {"vsock_cid", vsock_cid < 0 ? core::Json(nullptr) : core::Json(vsock_cid)},
                  {"console", console.empty() ? core::Json(nullptr) : core::Json(console)},
                  {"devices", devs}};
  if (!pending_digest.empty()) j["pending_topology_digest"] = pending_digest;
  if (!expected_digest.empty()) {
    j["expected_topology_digest"] = expected_digest;
    j["topology_changed"] = expected_digest != topology_digest;
  }
  return j;
}

void DomainStatus::print(std::ostream& out) const {
  if (!tdx)
    out << "WARNING: " << name << " is not a trust domain (no TDX launchSecurity)"
        << (profile == "no-tdx" ? ": insecure --no-tdx development VM" : "") << "\n";
  if (debug) out << "WARNING: " << name << " is a DEBUG TD: the host can read its state\n";
  core::Table t({"field", "value"});
  t.row({"name", name});
  t.row({"uuid", uuid});
  t.row({"state", state});
  t.row({"uptime", uptime_s < 0 ? "-" : std::to_string(uptime_s) + " s"});
  t.row({"vcpus", std::to_string(vcpus)});
  t.row({"memory", std::to_string(memory_kib / 1024) + " MiB"});
  t.row({"profile", profile.empty() ? "(not made by tdxctl)" : profile});
  t.row({"autostart", autostart ? "yes" : "no"});
  t.row({"vsock cid", vsock_cid < 0 ? "-" : std::to_string(vsock_cid)});
  t.row({"console", console.empty() ? "-" : console});
  t.row({"topology", topology_digest.empty() ? "-" : topology_digest});
  if (!pending_digest.empty()) t.row({"topology at next boot", pending_digest});
  if (!expected_digest.empty())
    t.row({"topology vs config", expected_digest == topology_digest
                                     ? "unchanged"
                                     : "CHANGED: config renders " + expected_digest});
  for (const auto& d : devices) t.row({d.kind, d.detail});
  t.print(out, false);
}

std::vector<DomainSummary> list_domains(const Connection& conn) {
  virDomainPtr* doms = nullptr;
  int n = libvirt::api().virConnectListAllDomains(conn.get(), &doms, 0);
  if (n < 0) throw_libvirt("cannot list domains at " + conn.uri());
  std::vector<DomainSummary> out;
  for (int i = 0; i < n; ++i) {
    Domain dom(doms[i]);
    DomainSummary s;
    s.name = dom.name();
    virDomainInfo info{};
    s.state = libvirt::api().virDomainGetInfo(dom.get(), &info) == 0 ? state_name(info.state) : "unknown";
    bool debug = false, insecure = false;
    read_metadata(dom, s.profile, debug, insecure, s.topology_digest);
    if (debug) s.profile += "+debug";
    out.push_back(std::move(s));
  }
  std::free(doms);
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.name < b.name; });
  return out;
}

core::Json to_json(const std::vector<DomainSummary>& list) {
  core::Json arr = core::Json::array();
  for (const auto& s : list)
    arr.push_back({{"name", s.name},
                   {"state", s.state},
                   {"profile", s.profile.empty() ? core::Json(nullptr) : core::Json(s.profile)},
                   {"topology_digest", s.topology_digest.empty() ? core::Json(nullptr)
                                                                 : core::Json(s.topology_digest)}});
  return core::Json{{"domains", arr}};
}

void print(std::ostream& out, const std::vector<DomainSummary>& list) {
  core::Table t({"NAME", "STATE", "PROFILE", "TOPOLOGY"});
  for (const auto& s : list)
    t.row({s.name, s.state, s.profile.empty() ? "-" : s.profile,
           s.topology_digest.empty() ? "-" : s.topology_digest.substr(0, 23) + "…"});
  t.print(out);
}

} // namespace tdx::td
