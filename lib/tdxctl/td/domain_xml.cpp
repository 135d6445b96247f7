// Domain XML for a TD, built as a libxml2 DOM (never by string concatenation)
// from the templates/td.xml skeleton. Everything that varies is added here in
// one fixed order: disks root/config/cache/containerd (root must stay the
// first virtio disk: today's images expect vda1 to be the LUKS root), network,
// vsock, then one VFIO hostdev per GPU and NVSwitch; the kernel, initrd and
// command line of direct boot come from the image's manifest (boot_files).
// Each device sits behind its own pcie-root-port at a pinned address, so a
// given host.yaml always yields the same virtual hardware, hence the same
// ACPI tables and RTMR0.
#include "tdxctl/td/domain_xml.hpp"

#include "tdxctl/core/digest.hpp"
#include "tdxctl/core/disk_image.hpp"
#include "tdxctl/core/fs.hpp"
#include "tdxctl/core/templates.hpp"
#include "tdxctl/core/hex.hpp"
#include "tdxctl/libxml/api.hpp"
#include "tdxctl/td/console_log.hpp"

#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sys/stat.h>

namespace tdx::td {

using core::Category;
using core::fail;

namespace {

const xmlChar* X(const char* s) { return reinterpret_cast<const xmlChar*>(s); }
const xmlChar* X(const std::string& s) { return X(s.c_str()); }

xmlNodePtr child(xmlNodePtr parent, const char* name) {
  for (xmlNodePtr n = parent ? parent->children : nullptr; n; n = n->next)
    if (n->type == XML_ELEMENT_NODE && libxml::api().xmlStrEqual(n->name, X(name))) return n;
  return nullptr;
}

xmlNodePtr add(xmlNodePtr parent, const char* name,
               std::initializer_list<std::pair<const char*, std::string>> attrs = {},
               const std::string* text = nullptr) {
  xmlNodePtr n = libxml::api().xmlNewTextChild(parent, nullptr, X(name), text ? X(*text) : nullptr);
  for (const auto& [k, v] : attrs) libxml::api().xmlNewProp(n, X(k), X(v));
  return n;
}

xmlNodePtr add_text(xmlNodePtr parent, const char* name, const std::string& text,
                    std::initializer_list<std::pair<const char*, std::string>> attrs = {}) {
  return add(parent, name, attrs, &text);
}

void set_text(xmlNodePtr node, const std::string& text) {
  xmlChar* escaped = libxml::api().xmlEncodeSpecialChars(node->doc, X(text));
  libxml::api().xmlNodeSetContent(node, escaped);
  libxml::api().free(escaped);
}

void remove_comments(xmlNodePtr node) {
  for (xmlNodePtr n = node->children; n;) {
    xmlNodePtr next = n->next;
    if (n->type == XML_COMMENT_NODE) {
      libxml::api().xmlUnlinkNode(n);
      libxml::api().xmlFreeNode(n);
    } else if (n->type == XML_ELEMENT_NODE) {
      remove_comments(n);
    }
    n = next;
  }
}

std::string hex2(int v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", v);
  return buf;
}

bool is_block_device(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISBLK(st.st_mode);
}

struct PortAllocator {
  xmlNodePtr insert_before; // controllers go before the first non-controller device
  int next = 0;
  // A pcie-root-port for one device: controller index i+1, chassis i+1,
  // port 0x10+i, at 00:(02 + i/8).(i%8); returns the bus number of the port.
  int allocate() {
    int i = next++;
    int index = i + 1;
    int slot = 0x02 + i / 8, function = i % 8;
    xmlNodePtr c = libxml::api().xmlNewNode(nullptr, X("controller"));
    libxml::api().xmlNewProp(c, X("type"), X("pci"));
    libxml::api().xmlNewProp(c, X("index"), X(std::to_string(index)));
    libxml::api().xmlNewProp(c, X("model"), X("pcie-root-port"));
    add(c, "model", {{"name", "pcie-root-port"}});
    add(c, "target", {{"chassis", std::to_string(index)}, {"port", hex2(0x10 + i)}});
    xmlNodePtr a = add(c, "address", {{"type", "pci"}, {"domain", "0x0000"}, {"bus", "0x00"},
                                      {"slot", hex2(slot)}, {"function", "0x" + std::to_string(function)}});
    if (function == 0) libxml::api().xmlNewProp(a, X("multifunction"), X("on"));
    libxml::api().xmlAddPrevSibling(insert_before, c);
    return index;
  }
  void place(xmlNodePtr device) {
    int bus = allocate();
    add(device, "address", {{"type", "pci"}, {"domain", "0x0000"}, {"bus", hex2(bus)},
                            {"slot", "0x00"}, {"function", "0x0"}});
  }
};

struct DiskSpec {
  const char* role;
  std::string path;
  bool root;
};

// The td.xml skeleton, parsed, its comments gone. `need` finds an element
// the rendering relies on, or names the one the skeleton lacks.
struct Skeleton {
  std::filesystem::path path;
  libxml::Doc doc;

  xmlNodePtr need(xmlNodePtr parent, const char* name) const {
    xmlNodePtr n = child(parent, name);
    if (!n)
      throw core::Failure(Category::invalid_input, "td.template_bad",
                          path.string() + ": element <" + name + "> missing");
    return n;
  }
};

core::Result<Skeleton> load_skeleton() {
  Skeleton sk;
  sk.path = core::template_dir() / "td.xml";
  sk.doc.reset(libxml::api().xmlReadFile(sk.path.c_str(), nullptr,
                                         XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
  if (!sk.doc)
    return fail(Category::not_ready, "td.template_missing", "cannot read the domain skeleton " + sk.path.string(),
                "set TDXCTL_TEMPLATE_DIR to the directory holding td.xml");
  remove_comments(reinterpret_cast<xmlNodePtr>(sk.doc.get()));
  return sk;
}

// The explicit measurement, else the config volume's manifest digest; none
// for a plain VM (--no-tdx) or without either.
core::Result<std::string> resolve_mr_config_id(const TdSpec& spec) {
  if (spec.no_tdx) return std::string();
  if (spec.mr_config_id) return *spec.mr_config_id;
  if (spec.config_volume.empty()) return std::string();
  auto hex = read_manifest_digest_hex(spec.config_volume);
  if (!hex) return std::unexpected(hex.error());
  return parse_measurement(*hex, manifest_path(spec.config_volume).string());
}

// Name, memory, vCPUs, firmware and, under td.boot: direct, the kernel,
// initrd and command line in place of <boot dev='hd'/>.
core::Result<void> set_machine(const Skeleton& sk, const TdSpec& spec, const RenderOptions& options,
                               RenderedDomain& result) {
  xmlNodePtr domain = libxml::api().xmlDocGetRootElement(sk.doc.get());
  libxml::api().xmlSetProp(domain, X("type"), X(options.domain_type));
  set_text(sk.need(domain, "name"), result.name);
  set_text(sk.need(domain, "memory"), std::to_string(spec.memory_gib));
  set_text(sk.need(domain, "currentMemory"), std::to_string(spec.memory_gib));
  set_text(sk.need(domain, "vcpu"), std::to_string(spec.vcpus));
  xmlNodePtr cpu = sk.need(domain, "cpu");
  libxml::api().xmlSetProp(sk.need(cpu, "topology"), X("cores"), X(std::to_string(spec.vcpus)));
  xmlNodePtr os = sk.need(domain, "os");
  set_text(sk.need(os, "loader"), options.firmware);
  if (spec.boot != BootMode::direct) return {};
  auto boot = read_direct_boot(spec.image);
  if (!boot) return std::unexpected(boot.error());
  xmlNodePtr boot_dev = sk.need(os, "boot");
  libxml::api().xmlUnlinkNode(boot_dev);
  libxml::api().xmlFreeNode(boot_dev);
  add_text(os, "kernel", boot->kernel.path.string());
  add_text(os, "initrd", boot->initrd.path.string());
  add_text(os, "cmdline", boot->cmdline);
  result.boot = std::move(*boot);
  return {};
}

// tdxctl's <metadata> element: who made this domain and what it is; read
// back by `td status`.
struct Metadata {
  xmlNodePtr td;
  xmlNsPtr ns;
};

Metadata add_metadata(const Skeleton& sk, const TdSpec& spec, const RenderOptions& options) {
  xmlNodePtr domain = libxml::api().xmlDocGetRootElement(sk.doc.get());
  xmlNodePtr metadata = libxml::api().xmlNewNode(nullptr, X("metadata"));
  libxml::api().xmlAddNextSibling(sk.need(domain, "name"), metadata);
  xmlNodePtr meta = libxml::api().xmlNewChild(metadata, nullptr, X("td"), nullptr);
  xmlNsPtr ns = libxml::api().xmlNewNs(meta, X(metadata_ns), X("tdxctl"));
  libxml::api().xmlSetNs(meta, ns);
  libxml::api().xmlNewProp(meta, X("profile"), X(spec.no_tdx ? "no-tdx" : "tdx"));
  libxml::api().xmlNewProp(meta, X("debug"), X(spec.debug ? "yes" : "no"));
  libxml::api().xmlNewProp(meta, X("insecure"), X(spec.no_tdx || spec.debug ? "yes" : "no"));
  if (!options.config_source.empty()) libxml::api().xmlNewTextChild(meta, ns, X("config"), X(options.config_source));
  if (spec.no_tdx) {
    libxml::api().xmlNewTextChild(meta, ns, X("warning"), X(insecure_banner));
    xmlNodePtr desc = libxml::api().xmlNewNode(nullptr, X("description"));
    set_text(desc, insecure_banner);
    libxml::api().xmlAddPrevSibling(metadata, desc);
  }
  return {meta, ns};
}

// Root, config, cache and containerd disks, in that order (vda stays the
// root), each before `tail` and behind its own root port.
void add_disks(const TdSpec& spec, xmlNodePtr tail, PortAllocator& ports) {
  std::vector<DiskSpec> disks = {{"root", spec.image, true},
                                 {"config", spec.config_volume, false},
                                 {"cache", spec.cache_volume, false},
                                 {"containerd", spec.containerd_volume, false}};
  char letter = 'a';
  for (const auto& d : disks) {
    if (d.path.empty()) continue;
    bool block = is_block_device(d.path);
    xmlNodePtr disk = libxml::api().xmlNewNode(nullptr, X("disk"));
    libxml::api().xmlAddPrevSibling(tail, disk);
    libxml::api().xmlNewProp(disk, X("type"), X(block ? "block" : "file"));
    libxml::api().xmlNewProp(disk, X("device"), X("disk"));
    std::string format = core::sniff_disk_format(d.path, d.root ? "qcow2" : "raw"); // volumes are raw unless they say otherwise
    std::string role = d.role;
    if (role == "config")
      add(disk, "driver", {{"name", "qemu"}, {"type", format}, {"cache", "none"}});
    else
      add(disk, "driver", {{"name", "qemu"}, {"type", format}, {"cache", "none"}, {"discard", "unmap"}});
    add(disk, "source", {{block ? "dev" : "file", d.path}});
    add(disk, "target", {{"dev", std::string("vd") + letter++}, {"bus", "virtio"}});
    if (role == "config") add(disk, "readonly");
    add_text(disk, "serial", "td-" + role);
    ports.place(disk);
  }
}

void add_interface(const NetSpec& nic, xmlNodePtr tail, PortAllocator& ports) {
  if (nic.mode == net::Mode::none) return;
  xmlNodePtr iface = libxml::api().xmlNewNode(nullptr, X("interface"));
  libxml::api().xmlAddPrevSibling(tail, iface);
  bool bridge = nic.mode == net::Mode::bridge;
  libxml::api().xmlNewProp(iface, X("type"), X(bridge ? "bridge" : "direct"));
  add(iface, "mac", {{"address", nic.mac}});
  if (bridge) add(iface, "source", {{"bridge", nic.source}});
  else add(iface, "source", {{"dev", nic.source}, {"mode", "bridge"}});
  add(iface, "model", {{"type", "virtio"}});
  ports.place(iface);
}

// vsock after the console and before the balloon, as libvirt orders it.
void add_vsock(int cid, xmlNodePtr console, PortAllocator& ports) {
  xmlNodePtr vsock = libxml::api().xmlNewNode(nullptr, X("vsock"));
  libxml::api().xmlAddNextSibling(console, vsock);
  libxml::api().xmlNewProp(vsock, X("model"), X("virtio"));
  add(vsock, "cid", {{"auto", "no"}, {"address", std::to_string(cid)}});
  ports.place(vsock);
}

struct DeviceCounts {
  int gpus = 0, nvswitches = 0;
};

DeviceCounts add_hostdevs(const std::vector<PassthroughDevice>& devices, xmlNodePtr tail, PortAllocator& ports) {
  DeviceCounts counts;
  for (const auto& d : devices) {
    xmlNodePtr hostdev = libxml::api().xmlNewNode(nullptr, X("hostdev"));
    libxml::api().xmlAddPrevSibling(tail, hostdev);
    libxml::api().xmlNewProp(hostdev, X("mode"), X("subsystem"));
    libxml::api().xmlNewProp(hostdev, X("type"), X("pci"));
    libxml::api().xmlNewProp(hostdev, X("managed"), X("no")); // binding is `tdxctl gpu bind`'s job, checked at launch
    add(hostdev, "driver", {{"name", "vfio"}});
    xmlNodePtr source = add(hostdev, "source");
    // BDF "dddd:bb:ss.f" -> libvirt's split address.
    add(source, "address", {{"domain", "0x" + d.address.substr(0, 4)},
                            {"bus", "0x" + d.address.substr(5, 2)},
                            {"slot", "0x" + d.address.substr(8, 2)},
                            {"function", "0x" + d.address.substr(11, 1)}});
    ports.place(hostdev);
    (d.nvswitch ? counts.nvswitches : counts.gpus)++;
  }
  return counts;
}

// The disks, network, vsock and passthrough devices, each behind its own
// pcie-root-port: devices go before the console, their root ports right
// after pcie-root (a placeholder marks the spot until all are placed).
DeviceCounts add_devices(const Skeleton& sk, const TdSpec& spec, const std::vector<PassthroughDevice>& devices,
                         const std::string& domain_name) {
  xmlNodePtr dev = sk.need(libxml::api().xmlDocGetRootElement(sk.doc.get()), "devices");
  xmlNodePtr console = sk.need(dev, "console");
  // The console's output, kept (and rotated) by virtlogd for `tdxctl td logs`.
  add(console, "log", {{"file", console_log_path(domain_name)}, {"append", "on"}});
  xmlNodePtr anchor = libxml::api().xmlNewNode(nullptr, X("anchor"));
  libxml::api().xmlAddNextSibling(sk.need(dev, "controller"), anchor);
  PortAllocator ports{anchor};
  add_disks(spec, console, ports);
  add_interface(spec.net, console, ports);
  add_vsock(spec.vsock_cid, console, ports);
  auto counts = add_hostdevs(devices, console, ports);
  libxml::api().xmlUnlinkNode(anchor);
  libxml::api().xmlFreeNode(anchor);
  return counts;
}

// A 64-bit MMIO aperture large enough for every GPU's BARs (H100/H200 BAR1
// is 128 GiB), told both to QEMU (pcihole64 on the root complex) and to
// TDVF/OVMF (fw_cfg X-PciMmio64Mb), which otherwise sizes it too small.
void add_mmio_aperture(const Skeleton& sk, int gpu_mmio_gib, DeviceCounts counts) {
  xmlNodePtr domain = libxml::api().xmlDocGetRootElement(sk.doc.get());
  long long mmio_mb = mmio_aperture_mib(gpu_mmio_gib, counts.gpus, counts.nvswitches);
  add_text(sk.need(sk.need(domain, "devices"), "controller"), "pcihole64", std::to_string(mmio_mb * 1024),
           {{"unit", "KiB"}});
  xmlNodePtr sysinfo = libxml::api().xmlNewNode(nullptr, X("sysinfo"));
  libxml::api().xmlAddPrevSibling(sk.need(domain, "os"), sysinfo);
  libxml::api().xmlNewProp(sysinfo, X("type"), X("fwcfg"));
  add_text(sysinfo, "entry", std::to_string(mmio_mb), {{"name", "opt/ovmf/X-PciMmio64Mb"}});
}

void add_launch_security(xmlNodePtr domain, const TdSpec& spec, const RenderedDomain& result) {
  xmlNodePtr ls = libxml::api().xmlNewChild(domain, nullptr, X("launchSecurity"), nullptr);
  libxml::api().xmlNewProp(ls, X("type"), X("tdx"));
  add_text(ls, "policy", result.policy);
  if (!result.mr_config_id.empty()) add_text(ls, "mrConfigId", result.mr_config_id);
  if (spec.mr_owner) add_text(ls, "mrOwner", *spec.mr_owner);
  if (spec.mr_owner_config) add_text(ls, "mrOwnerConfig", *spec.mr_owner_config);
  if (!spec.qgs_socket.empty()) add(ls, "quoteGenerationService", {{"path", spec.qgs_socket}});
}

std::string dump(const Skeleton& sk) {
  xmlChar* out = nullptr;
  int size = 0;
  libxml::api().xmlDocDumpFormatMemoryEnc(sk.doc.get(), &out, &size, "UTF-8", 1);
  std::string xml(reinterpret_cast<const char*>(out), static_cast<size_t>(size));
  libxml::api().free(out);
  return xml;
}

} // namespace

core::Result<std::string> topology_digest(const std::string& xml) {
  libxml::Doc doc(libxml::api().xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "domain.xml", nullptr,
                                              XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR |
                                                  XML_PARSE_NOWARNING));
  if (!doc) return fail(Category::invalid_input, "td.xml_parse", "domain XML does not parse");
  xmlNodePtr root = libxml::api().xmlDocGetRootElement(doc.get());
  for (const char* name : {"name", "uuid", "title", "description", "metadata"}) {
    while (xmlNodePtr n = child(root, name)) {
      libxml::api().xmlUnlinkNode(n);
      libxml::api().xmlFreeNode(n);
    }
  }
  // Where the host keeps the console log is no part of the virtual hardware
  // (and names the domain, which the digest leaves out).
  if (xmlNodePtr console = child(child(root, "devices"), "console"))
    while (xmlNodePtr log = child(console, "log")) {
      libxml::api().xmlUnlinkNode(log);
      libxml::api().xmlFreeNode(log);
    }
  remove_comments(reinterpret_cast<xmlNodePtr>(doc.get()));
  xmlChar* out = nullptr;
  int size = libxml::api().xmlC14NDocDumpMemory(doc.get(), nullptr, XML_C14N_EXCLUSIVE_1_0, nullptr, 0, &out);
  if (size < 0) return fail(Category::failed, "td.c14n", "cannot canonicalise the domain XML");
  std::string digest = "sha384:" + core::sha384_hex({reinterpret_cast<const char*>(out), static_cast<size_t>(size)});
  libxml::api().free(out);
  return digest;
}

std::string tdx_policy_hex(bool debug) {
  uint64_t policy = policy_sept_ve_disable | (debug ? policy_debug : 0);
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(policy));
  return buf;
}

long long mmio_aperture_mib(int gpu_mmio_gib, int gpus, int nvswitches) {
  return 1024LL * (static_cast<long long>(gpu_mmio_gib) * gpus + nvswitches);
}

core::Result<RenderedDomain> render_domain(const TdSpec& spec,
                                           const std::vector<PassthroughDevice>& devices,
                                           const RenderOptions& options) {
  RenderedDomain result;
  result.insecure = spec.no_tdx;
  result.debug = spec.debug;
  result.name = spec.debug ? spec.name + "-debug" : spec.name;
  auto mr_config_id = resolve_mr_config_id(spec);
  if (!mr_config_id) return std::unexpected(mr_config_id.error());
  result.mr_config_id = *mr_config_id;
  result.devices = devices;

  auto sk = load_skeleton();
  if (!sk) return std::unexpected(sk.error());
  TDX_TRY(set_machine(*sk, spec, options, result));
  auto meta = add_metadata(*sk, spec, options);
  auto counts = add_devices(*sk, spec, devices, result.name);
  if (!devices.empty()) add_mmio_aperture(*sk, spec.gpu_mmio_gib, counts);
  if (!spec.no_tdx) {
    result.policy = tdx_policy_hex(spec.debug);
    add_launch_security(libxml::api().xmlDocGetRootElement(sk->doc.get()), spec, result);
  }

  result.xml = dump(*sk);
  auto digest = topology_digest(result.xml);
  if (!digest) return std::unexpected(digest.error());
  result.topology_digest = *digest;
  // Record the digest in the metadata too, so `td status` can show it for the
  // defined domain (the digest excludes <metadata>, so this does not change it).
  libxml::api().xmlNewTextChild(meta.td, meta.ns, X("topology-digest"), X(result.topology_digest));
  result.xml = dump(*sk);
  return result;
}

namespace {
struct ValidationErrors {
  std::string text;
  int count = 0;
};
void collect_structured(void* data, xmlErrorPtr error) {
  auto* errors = static_cast<ValidationErrors*>(data);
  if (++errors->count > 10) return;
  std::string msg = error->message ? error->message : "invalid";
  while (!msg.empty() && msg.back() == '\n') msg.pop_back();
  errors->text += "\n  line " + std::to_string(error->line) + ": " + msg;
}
} // namespace

core::Result<void> validate_domain_xml(const std::string& xml, const std::filesystem::path& rng) {
  // The schema is the user's input (--schema): a missing or broken one is
  // named as such, before libxml2 gets to print its own errors.
  if (auto readable = core::read_file(rng); !readable)
    return fail(Category::invalid_input, "td.schema_unreadable",
                "cannot read the RelaxNG schema " + rng.string() + ": " + readable.error().message,
                "pass the domain.rng of libvirt's schemas (libvirt-common: /usr/share/libvirt/schemas/domain.rng)");
  libxml::RelaxNGParser pctx(libxml::api().xmlRelaxNGNewParserCtxt(rng.c_str()));
  ValidationErrors schema_errors;
  if (pctx) libxml::api().xmlRelaxNGSetParserStructuredErrors(pctx.get(), collect_structured, &schema_errors);
  libxml::RelaxNG schema(pctx ? libxml::api().xmlRelaxNGParse(pctx.get()) : nullptr);
  if (!schema)
    return fail(Category::invalid_input, "td.schema_invalid",
                rng.string() + " is not a usable RelaxNG schema:" +
                    (schema_errors.text.empty() ? std::string(" libxml2 could not parse it") : schema_errors.text));
  libxml::Doc doc(libxml::api().xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "domain.xml", nullptr,
                                              XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
  if (!doc) return fail(Category::invalid_input, "td.xml_parse", "domain XML does not parse");
  libxml::RelaxNGValid vctx(libxml::api().xmlRelaxNGNewValidCtxt(schema.get()));
  ValidationErrors errors;
  libxml::api().xmlRelaxNGSetValidStructuredErrors(vctx.get(), collect_structured, &errors);
  if (libxml::api().xmlRelaxNGValidateDoc(vctx.get(), doc.get()) != 0)
    return fail(Category::invalid_input, "td.xml_invalid",
                "domain XML does not validate against " + rng.string() + ":" + errors.text);
  return {};
}

} // namespace tdx::td
