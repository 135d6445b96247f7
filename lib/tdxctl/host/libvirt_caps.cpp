// libvirt reachability and TDX support, through the C API (a read-write
// connection when allowed: libvirt refuses domain capabilities on a read-only
// one). Domain capabilities advertise TDX as <tdx supported='yes'/>
// under <features> (libvirt >= 11) and as sectype 'tdx' in launchSecurity.
// Debian 12's libvirt 9.0 knows neither: that host is reported as lacking TDX.
#include "tdxctl/host/check.hpp"

#include "tdxctl/libvirt/api.hpp"
#include "tdxctl/libxml/api.hpp"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include <memory>

namespace tdx::host {

static std::string version_string(unsigned long v) {
  return std::to_string(v / 1000000) + "." + std::to_string(v / 1000 % 1000) + "." +
         std::to_string(v % 1000);
}

static void quiet_libvirt(void*, virErrorPtr) {}

static std::string last_libvirt_error() {
  virErrorPtr err = libvirt::api().virGetLastError();
  return err && err->message ? err->message : "unknown libvirt error";
}

bool domain_caps_support_tdx(const std::string& caps_xml) {
  libxml::Doc doc(libxml::api().xmlReadMemory(caps_xml.data(), static_cast<int>(caps_xml.size()), "caps.xml",
                                              nullptr, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
  if (!doc) return false;
  libxml::XPathContext ctx(libxml::api().xmlXPathNewContext(doc.get()));
  for (const char* expr : {"/domainCapabilities/features/tdx[@supported='yes']",
                           "/domainCapabilities/features/launchSecurity[@supported='yes']/"
                           "enum[@name='sectype']/value[text()='tdx']"}) {
    libxml::XPathObject res(libxml::api().xmlXPathEvalExpression(reinterpret_cast<const xmlChar*>(expr), ctx.get()));
    if (res && res->nodesetval && res->nodesetval->nodeNr > 0) return true;
  }
  return false;
}

LibvirtInfo probe_libvirt(const std::string& uri) {
  LibvirtInfo info;
  info.uri = uri;
  // host check reports a host without libvirt0 as a failed check, as it
  // reports a daemon it cannot reach, rather than stopping there.
  try {
    libvirt::api();
  } catch (const core::Failure& f) {
    info.reason = f.error().message + " (" + f.error().hint + ")";
    return info;
  }
  libvirt::api().virSetErrorFunc(nullptr, quiet_libvirt);
  // Domain capabilities are refused on a read-only connection, so open
  // read-write (nothing here changes anything); fall back to read-only for
  // the versions when the caller may not write.
  virConnectPtr conn = libvirt::api().virConnectOpen(uri.c_str());
  if (!conn) conn = libvirt::api().virConnectOpenReadOnly(uri.c_str());
  if (!conn) {
    info.reason = "cannot connect to " + uri + ": " + last_libvirt_error();
    return info;
  }
  info.reachable = true;
  unsigned long lib = 0, hv = 0;
  if (libvirt::api().virConnectGetLibVersion(conn, &lib) == 0) info.libvirt_version = version_string(lib);
  if (libvirt::api().virConnectGetVersion(conn, &hv) == 0) {
    const char* type = libvirt::api().virConnectGetType(conn);
    info.hypervisor_version = std::string(type ? type : "hypervisor") + " " + version_string(hv);
  }
  char* caps = libvirt::api().virConnectGetDomainCapabilities(conn, nullptr, "x86_64", "q35", "kvm", 0);
  if (caps) {
    info.tdx_supported = domain_caps_support_tdx(caps);
    free(caps);
  } else {
    info.caps_error = last_libvirt_error();
  }
  libvirt::api().virConnectClose(conn);
  return info;
}

CheckResult check_libvirt(const CheckOptions& options) {
  const std::string title = "libvirt + QEMU report TDX";
  if (!options.libvirt)
    return make_result("libvirt.tdx", title, Status::skip, "not checked", {}, false);
  const auto& lv = *options.libvirt;
  if (!lv.reachable)
    return make_result("libvirt.tdx", title, Status::skip, lv.reason,
                       "start libvirtd (systemctl start libvirtd) or pass --connect URI", false);
  std::string observed = "libvirt " + lv.libvirt_version +
                         (lv.hypervisor_version.empty() ? "" : ", " + lv.hypervisor_version);
  if (!lv.caps_error.empty())
    return make_result("libvirt.tdx", title, Status::skip,
                       observed + "; no domain capabilities: " + lv.caps_error,
                       "this libvirt driver cannot report domain capabilities", false);
  if (lv.tdx_supported) return make_result("libvirt.tdx", title, Status::ok, observed + ", tdx supported");
  return make_result("libvirt.tdx", title, Status::fail, observed + ", tdx not in domain capabilities",
                     "install a libvirt (>= 11.0) and QEMU (>= 10.1) built with TDX support");
}

} // namespace tdx::host
