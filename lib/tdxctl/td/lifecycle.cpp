// launch / stop / undefine as core::Plans over the libvirt C API. Each step
// says whether it already holds (domain defined with the same topology digest,
// running, stopped, gone), so a re-run reports "nothing to do", --dry-run
// prints the exact domain XML that would be defined, and a failure rolls back
// what this run changed. A redefinition keeps the existing UUID: libvirt
// refuses a second definition of a name under a different one.
#include "tdxctl/td/lifecycle.hpp"

#include "tdxctl/libvirt/api.hpp"
#include "tdxctl/libxml/api.hpp"
#include "tdxctl/td/console_log.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>
#include <thread>

namespace tdx::td {

using core::Category;

inline constexpr const char* runtime_ns = "https://tdxctl.dev/xmlns/td-run/1";

// The rendered XML with <uuid> set right after <name>.
static std::string with_uuid(const std::string& xml, const std::string& uuid) {
  libxml::Doc doc(libxml::api().xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "domain.xml", nullptr,
                                              XML_PARSE_NONET | XML_PARSE_NOBLANKS));
  if (!doc) throw core::Failure(Category::failed, "td.xml_parse", "rendered XML does not parse");
  xmlNodePtr root = libxml::api().xmlDocGetRootElement(doc.get());
  for (xmlNodePtr n = root->children; n; n = n->next) {
    if (n->type == XML_ELEMENT_NODE && libxml::api().xmlStrEqual(n->name, BAD_CAST "name")) {
      xmlNodePtr u = libxml::api().xmlNewDocNode(doc.get(), nullptr, BAD_CAST "uuid", nullptr);
      libxml::api().xmlNodeAddContent(u, BAD_CAST uuid.c_str());
      libxml::api().xmlAddNextSibling(n, u);
      break;
    }
  }
  xmlChar* out = nullptr;
  int size = 0;
  libxml::api().xmlDocDumpFormatMemoryEnc(doc.get(), &out, &size, "UTF-8", 1);
  std::string s(reinterpret_cast<const char*>(out), static_cast<size_t>(size));
  libxml::api().free(out);
  return s;
}

static std::string uuid_of(const Domain& dom) {
  char buf[VIR_UUID_STRING_BUFLEN] = {};
  if (libvirt::api().virDomainGetUUIDString(dom.get(), buf) != 0) throw_libvirt("cannot read the domain UUID");
  return buf;
}

static Domain require(const Connection& conn, const std::string& name) {
  auto dom = conn.lookup(name);
  if (!dom)
    throw core::Failure(Category::not_ready, "td.no_domain",
                        "no domain named '" + name + "' at " + conn.uri(),
                        "see `tdxctl td list`, or define it with `tdxctl td launch`");
  return std::move(*dom);
}

core::Plan plan_launch(std::shared_ptr<Connection> conn, const RenderedDomain& domain,
                       bool autostart) {
  core::Plan plan;
  const std::string name = domain.name;
  auto previous_xml = std::make_shared<std::optional<std::string>>();

  core::Json detail = {{"name", name}, {"topology_digest", domain.topology_digest},
                       {"xml", domain.xml}};
  if (domain.insecure) detail["warning"] = insecure_banner;
  // A running domain keeps its old hardware until it restarts: say so.
  std::string restart_note;
  if (auto dom = conn->lookup(name); dom && dom->active()) {
    if (recorded_topology_digest(*dom) != domain.topology_digest)
      restart_note = "; " + name + " is running and keeps its old layout until `tdxctl td stop " +
                     name + "` and `tdxctl td launch`";
  }
  if (!restart_note.empty()) detail["restart_required"] = true;
  if (!domain.console_log_dir.empty()) {
    auto dir = domain.console_log_dir;
    plan.add(core::Step{
        "td.console_log_dir", "file", "create " + dir.string() + " for the console log (0750)",
        core::Json{{"path", dir.string()}, {"mode", "0750"}},
        [dir] { return std::filesystem::is_directory(dir); },
        [dir] {
          std::filesystem::create_directories(dir);
          std::filesystem::permissions(dir, std::filesystem::perms(0750));
        },
        {}});
  }
  plan.add(core::Step{
      "td.define", "libvirt",
      "define domain " + name + " (topology " + domain.topology_digest.substr(0, 23) + "…)" +
          (domain.insecure ? " [INSECURE --no-tdx]" : "") + restart_note,
      detail,
      [conn, name, digest = domain.topology_digest] {
        auto dom = conn->lookup(name);
        return dom && dom->persistent() && recorded_topology_digest(*dom) == digest;
      },
      [conn, name, xml = domain.xml, previous_xml] {
        std::string to_define = xml;
        if (auto dom = conn->lookup(name)) {
          if (dom->persistent()) *previous_xml = dom->xml(true);
          to_define = with_uuid(xml, uuid_of(*dom));
        }
        virDomainPtr d = libvirt::api().virDomainDefineXML(conn->get(), to_define.c_str());
        if (!d) throw_libvirt("cannot define domain " + name);
        libvirt::api().virDomainFree(d);
      },
      [conn, name, previous_xml] {
        if (*previous_xml) {
          virDomainPtr d = libvirt::api().virDomainDefineXML(conn->get(), (*previous_xml)->c_str());
          if (!d) throw_libvirt("cannot restore the previous definition of " + name);
          libvirt::api().virDomainFree(d);
        } else if (auto dom = conn->lookup(name)) {
          if (libvirt::api().virDomainUndefine(dom->get()) != 0) throw_libvirt("cannot undefine " + name);
        }
      }});

  plan.add(core::Step{
      "td.start", "libvirt", "start domain " + name, core::Json{{"name", name}},
      [conn, name] {
        auto dom = conn->lookup(name);
        return dom && dom->active();
      },
      [conn, name, log_dir = domain.console_log_dir] {
        auto dom = require(*conn, name);
        // Marks the boot in the console log, so `td logs --since` can find it.
        if (!log_dir.empty())
          if (auto marked = append_start_marker(log_dir, name, std::time(nullptr)); !marked)
            spdlog::warn("{}", marked.error().message);
        if (libvirt::api().virDomainCreate(dom.get()) != 0) throw_libvirt("cannot start domain " + name);
        // Remember when it started: libvirt reports no uptime.
        auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
        std::string meta = "<run started='" + std::to_string(now) + "'/>";
        libvirt::api().virDomainSetMetadata(dom.get(), VIR_DOMAIN_METADATA_ELEMENT, meta.c_str(), "tdxctl-run",
                             runtime_ns, VIR_DOMAIN_AFFECT_LIVE);
      },
      [conn, name] {
        if (auto dom = conn->lookup(name); dom && dom->active())
          if (libvirt::api().virDomainDestroy(dom->get()) != 0) throw_libvirt("cannot destroy " + name);
      }});

  if (autostart)
    plan.add(core::Step{
        "td.autostart", "libvirt", "start domain " + name + " when the host boots",
        core::Json{{"name", name}},
        [conn, name] {
          auto dom = conn->lookup(name);
          int on = 0;
          return dom && libvirt::api().virDomainGetAutostart(dom->get(), &on) == 0 && on == 1;
        },
        [conn, name] {
          auto dom = require(*conn, name);
          if (libvirt::api().virDomainSetAutostart(dom.get(), 1) != 0) throw_libvirt("cannot set autostart");
        },
        [conn, name] {
          if (auto dom = conn->lookup(name)) libvirt::api().virDomainSetAutostart(dom->get(), 0);
        }});
  return plan;
}

core::Plan plan_stop(std::shared_ptr<Connection> conn, const std::string& name,
                     const StopOptions& options) {
  require(*conn, name); // a typo in the name is an error, not "nothing to do"
  core::Plan plan;
  plan.add(core::Step{
      "td.shutdown", "libvirt",
      "shut down domain " + name + " (ACPI, up to " + std::to_string(options.timeout_s) + " s" +
          (options.force ? ", then destroy)" : ")"),
      core::Json{{"name", name}, {"timeout_s", options.timeout_s}, {"force", options.force}},
      [conn, name] {
        auto dom = conn->lookup(name);
        return !dom || !dom->active();
      },
      [conn, name, options] {
        auto dom = require(*conn, name);
        if (libvirt::api().virDomainShutdown(dom.get()) != 0 && !options.force)
          throw_libvirt("cannot shut down domain " + name);
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options.timeout_s);
        while (dom.active() && std::chrono::steady_clock::now() < deadline)
          std::this_thread::sleep_for(std::chrono::milliseconds(200));
        if (!dom.active()) return;
        if (!options.force)
          throw core::Failure(Category::failed, "td.stop_timeout",
                              "domain " + name + " did not shut down within " +
                                  std::to_string(options.timeout_s) + " s",
                              "re-run with --force to destroy it (like pulling the power)");
        if (libvirt::api().virDomainDestroy(dom.get()) != 0) throw_libvirt("cannot destroy domain " + name);
      },
      {}});
  return plan;
}

core::Plan plan_undefine(std::shared_ptr<Connection> conn, const std::string& name, bool force) {
  core::Plan plan;
  auto dom = conn->lookup(name);
  if (dom && dom->active()) {
    if (!force)
      throw core::Failure(Category::not_ready, "td.running",
                          "domain " + name + " is running; refusing to undefine it",
                          "stop it first (`tdxctl td stop " + name + "`) or pass --force");
    plan.add(core::Step{"td.destroy", "libvirt", "destroy running domain " + name,
                        core::Json{{"name", name}},
                        [conn, name] {
                          auto d = conn->lookup(name);
                          return !d || !d->active();
                        },
                        [conn, name] {
                          auto d = require(*conn, name);
                          if (libvirt::api().virDomainDestroy(d.get()) != 0) throw_libvirt("cannot destroy " + name);
                        },
                        {}});
  }
  auto saved = std::make_shared<std::string>();
  plan.add(core::Step{
      "td.undefine", "libvirt", "remove the definition of domain " + name,
      core::Json{{"name", name}},
      [conn, name] {
        auto d = conn->lookup(name);
        return !d || !d->persistent();
      },
      [conn, name, saved] {
        auto d = require(*conn, name);
        *saved = d.xml(true);
        if (libvirt::api().virDomainUndefineFlags(d.get(), VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
                                                VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA) != 0)
          throw_libvirt("cannot undefine domain " + name);
      },
      [conn, name, saved] {
        if (saved->empty()) return;
        virDomainPtr d = libvirt::api().virDomainDefineXML(conn->get(), saved->c_str());
        if (!d) throw_libvirt("cannot restore the definition of " + name);
        libvirt::api().virDomainFree(d);
      }});
  return plan;
}

} // namespace tdx::td
