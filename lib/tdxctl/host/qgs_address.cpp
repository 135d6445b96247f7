// QGS address parsing. libvirt's schema (domaincommon.rng, launchSecurity
// tdx) gives quoteGenerationService one optional attribute, path, of type
// absFilePath; QEMU's vsock form is reachable only through its own
// quote-generation-socket property, which libvirt does not expose.
#include "tdxctl/host/qgs_address.hpp"

namespace tdx::host {

core::Result<std::string> parse_qgs_address(std::string_view text, const std::string& what) {
  std::string_view path = text;
  if (path.starts_with("unix:")) path.remove_prefix(5);
  auto reject = [&](const std::string& why) -> core::Result<std::string> {
    return core::fail(core::Category::invalid_input, "qgs.address",
                      what + " '" + std::string(text) + "': " + why + "; expected " +
                          qgs_address_forms,
                      "run the QGS on its UNIX socket (the tdx-qgs default) and name that path");
  };
  if (text.starts_with("vsock:"))
    return reject("libvirt's quoteGenerationService takes only a UNIX socket path, so a QGS on "
                  "vsock cannot be given to a TD through libvirt");
  if (path.empty() || path.front() != '/')
    return reject(text.find(':') != std::string_view::npos && !text.starts_with("unix:")
                      ? "not a form tdxctl knows"
                      : "not an absolute path (libvirt's schema requires one)");
  if (path.find('\0') != std::string_view::npos || path.find('\n') != std::string_view::npos)
    return reject("a path may not hold NUL or newline characters");
  return std::string(path);
}

} // namespace tdx::host
