// TdSpec -> KubeVirt VirtualMachine (see kubevirt.hpp). Field names follow
// KubeVirt's published OpenAPI schema (api/openapi-spec/swagger.json, kept in
// tests/data/kubevirt with its provenance); the tests validate every
// rendering against it, unknown fields included.
#include "tdxctl/td/kubevirt.hpp"

#include "tdxctl/config/yaml_writer.hpp"
#include "tdxctl/sysfs/pci.hpp"

#include <cctype>
#include <cstdio>
#include <map>
#include <sstream>

namespace tdx::td {

using core::Category;
using core::fail;
using core::Json;

namespace {

constexpr uint16_t k_nvidia = 0x10de;

std::string gib(int n) { return std::to_string(n) + "Gi"; }

std::string hex4(uint16_t v, bool upper) {
  char buf[8];
  std::snprintf(buf, sizeof buf, upper ? "%04X" : "%04x", v);
  return buf;
}

// One disk and its PVC: the claim is named after the domain and the role, so
// two TDs in a namespace never share one.
void add_disk(KubevirtRender& r, Json& disks, Json& volumes, const std::string& role,
              const std::string& path, bool read_only, int boot_order) {
  if (path.empty()) return;
  Json target = {{"bus", "virtio"}};
  if (read_only) target["readonly"] = true;
  // The serial libvirt gives it too: the guest finds its volumes as
  // /dev/disk/by-id/virtio-td-ROLE (the containerd volume only that way).
  Json disk = {{"name", role}, {"disk", target}, {"serial", "td-" + role}};
  if (boot_order > 0) disk["bootOrder"] = boot_order;
  disks.push_back(disk);
  std::string claim = r.name + "-" + role;
  Json pvc = {{"claimName", claim}};
  if (read_only) pvc["readOnly"] = true;
  volumes.push_back({{"name", role}, {"persistentVolumeClaim", pvc}});
  r.claims.push_back({claim, path, read_only});
}

void unmapped(KubevirtRender& r, std::string key, std::string value, std::string reason) {
  r.unmapped.push_back({std::move(key), std::move(value), std::move(reason)});
}

core::Result<Json> host_devices(KubevirtRender& r, const core::Root& root,
                                const std::vector<PassthroughDevice>& devices) {
  Json list = Json::array();
  if (devices.empty()) return list;
  auto pci_ids = root.read(pci_ids_path).value_or("");
  std::map<std::string, std::string> selectors; // "10DE:2330" -> resource, sorted
  int gpu = 0, nvswitch = 0;
  for (const auto& dev : devices) {
    auto pci = sysfs::read_pci_device(root, dev.address);
    if (!pci)
      return fail(Category::not_ready, "td.device_missing",
                  dev.address + " is not in /sys/bus/pci/devices",
                  "check the address with `tdxctl gpu list`");
    std::string resource = pci->vendor == k_nvidia
                               ? nvidia_resource_name(pci_ids, pci->device)
                               : "pci.device/" + hex4(pci->vendor, true) + "_" + hex4(pci->device, true);
    selectors[hex4(pci->vendor, true) + ":" + hex4(pci->device, true)] = resource;
    std::string name = dev.nvswitch ? "nvswitch" + std::to_string(nvswitch++) : "gpu" + std::to_string(gpu++);
    list.push_back({{"name", name}, {"deviceName", resource}});
  }
  for (const auto& [selector, resource] : selectors)
    // NVIDIA's device plugin provides its resources (external); any other
    // device is KubeVirt's own to allocate.
    r.permitted_host_devices.push_back({{"pciVendorSelector", selector},
                                        {"resourceName", resource},
                                        {"externalResourceProvider", resource.starts_with("nvidia.com/")}});
  return list;
}

Json firmware(KubevirtRender& r, const TdSpec& spec, const RenderedDomain& domain,
              const KubevirtOptions& options) {
  // Stateless EFI: KubeVirt refuses persistent NVRAM for TDX. Secure Boot off,
  // as tdxctl's own TDs: the TD's trust comes from the measurements.
  Json fw = {{"bootloader", {{"efi", {{"secureBoot", false}, {"persistent", false}}}}}};
  unmapped(r, "td.firmware", spec.firmware.empty() ? "(first TDVF found)" : spec.firmware,
           "KubeVirt boots its own OVMF build (virt-launcher's); MRTD follows that file, so "
           "predict with `tdxctl image measure --firmware` on virt-launcher's OVMF.inteltdx.fd");
  if (!domain.boot) return fw;
  const auto& boot = *domain.boot;
  if (options.kernel_container.empty()) {
    unmapped(r, "td.boot", "direct (" + boot.kernel.path.string() + ", " + boot.initrd.path.string() + ")",
             "KubeVirt's direct kernel boot reads the kernel and initrd from a container image; "
             "without --kernel-container the TD boots the disk's own bootloader, which changes "
             "RTMR1 and RTMR2");
    return fw;
  }
  fw["kernelBoot"] = {{"kernelArgs", boot.cmdline},
                      {"container",
                       {{"image", options.kernel_container},
                        {"kernelPath", "/boot/" + boot.kernel.file},
                        {"initrdPath", "/boot/" + boot.initrd.file}}}};
  return fw;
}

Json interfaces(KubevirtRender& r, const TdSpec& spec, Json& networks) {
  Json list = Json::array();
  if (spec.net.mode == net::Mode::bridge) {
    // The pod network with masquerade is KubeVirt's NAT, as tdxctl's bridge is.
    list.push_back({{"name", "default"}, {"masquerade", Json::object()}, {"macAddress", spec.net.mac}});
    networks.push_back({{"name", "default"}, {"pod", Json::object()}});
    unmapped(r, "td.network.bridge", spec.net.source,
             "the pod network with masquerade stands in for the host bridge's NAT; the port forwards "
             "of network: become a Kubernetes Service");
  } else if (spec.net.mode == net::Mode::macvtap) {
    unmapped(r, "td.network.macvtap", spec.net.source,
             "KubeVirt attaches macvtap through its macvtap binding plugin and a Multus "
             "NetworkAttachmentDefinition, which tdxctl does not know; add both by hand");
  }
  return list;
}

void unmapped_measurements(KubevirtRender& r, const TdSpec& spec, const RenderedDomain& domain) {
  if (!domain.mr_config_id.empty())
    unmapped(r, "td.mr_config_id", domain.mr_config_id,
             "KubeVirt's TDX API (launchSecurity.tdx) has no mrConfigId: MRCONFIGID will be zero, "
             "and tdxctl-guest, which checks the config volume against it, powers the TD off");
  if (spec.mr_owner) unmapped(r, "td.mr_owner", *spec.mr_owner, "KubeVirt's TDX API has no mrOwner");
  if (spec.mr_owner_config)
    unmapped(r, "td.mr_owner_config", *spec.mr_owner_config, "KubeVirt's TDX API has no mrOwnerConfig");
  if (spec.debug)
    unmapped(r, "td.debug", "true", "KubeVirt's TDX API has no DEBUG attribute: the TD starts without it");
  if (!spec.measure_platform.empty() || !spec.measure_acpi_tables.empty())
    unmapped(r, spec.measure_platform.empty() ? "td.measure.acpi_tables" : "td.measure.platform",
             spec.measure_platform.empty() ? spec.measure_acpi_tables : spec.measure_platform,
             "a capture from a libvirt TD: KubeVirt's virtual hardware differs, so RTMR0 needs a capture "
             "from a KubeVirt TD");
  if (spec.no_tdx)
    unmapped(r, "td.no_tdx", "true",
             "rendered without launchSecurity: a plain VM, not a trust domain (insecure)");
}

} // namespace

bool valid_kubernetes_name(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  for (char c : name)
    if (!alnum(c) && c != '-') return false;
  return alnum(name.front()) && alnum(name.back());
}

std::string nvidia_resource_name(std::string_view pci_ids, uint16_t device) {
  // pci.ids: a vendor line "10de  NVIDIA Corporation", then its devices as
  // "\t2330  NAME"; the vendor's block ends at the next line without a tab.
  std::istringstream in{std::string(pci_ids)};
  std::string line, id = hex4(device, false), name;
  bool in_vendor = false;
  while (std::getline(in, line)) {
    if (line.starts_with("#")) continue;
    if (!in_vendor) {
      in_vendor = line.starts_with("10de ");
      continue;
    }
    if (!line.starts_with("\t")) break;
    if (line.starts_with("\t\t") || line.compare(1, 4, id) != 0 || line.size() < 6) continue;
    name = line.substr(5);
    break;
  }
  std::string out;
  bool space = false;
  size_t first = name.find_first_not_of(" \t");
  name = first == std::string::npos ? "" : name.substr(first);
  while (!name.empty() && std::isspace(static_cast<unsigned char>(name.back()))) name.pop_back();
  for (char c : name) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = true;
      continue;
    }
    if (space) out += '_';
    space = false;
    if (c == '/' || c == '.') out += '_';
    else if (std::isalnum(static_cast<unsigned char>(c)) || c == '_')
      out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return "nvidia.com/" + (out.empty() ? id : out);
}

core::Result<KubevirtRender> render_kubevirt(const core::Root& root, const TdSpec& spec,
                                             const RenderedDomain& domain,
                                             const KubevirtOptions& options) {
  if (!options.kernel_container.empty() && !domain.boot)
    return fail(Category::usage, "td.render_flag",
                "--kernel-container names the direct-boot kernel, but this TD boots the disk's own "
                "bootloader (td.boot: firmware)",
                "drop --kernel-container, or boot directly (--boot direct)");
  KubevirtRender r;
  r.name = domain.name;
  if (!valid_kubernetes_name(r.name))
    return fail(Category::invalid_input, "td.kubevirt_name",
                "td.name '" + r.name +
                    "' is not a Kubernetes name: expected lower-case letters, digits and '-', at "
                    "most 63, starting and ending with a letter or digit",
                "pass --name, e.g. --name td-0");

  Json disks = Json::array(), volumes = Json::array(), networks = Json::array();
  add_disk(r, disks, volumes, "root", spec.image, false, 1);
  add_disk(r, disks, volumes, "config", spec.config_volume, true, 0);
  add_disk(r, disks, volumes, "cache", spec.cache_volume, false, 0);
  add_disk(r, disks, volumes, "containerd", spec.containerd_volume, false, 0);

  const auto& devices = domain.devices;
  auto hostdevs = host_devices(r, root, devices);
  if (!hostdevs) return std::unexpected(hostdevs.error());

  // No display and no balloon, as tdxctl's libvirt TD.
  Json devs = {{"disks", disks},
               {"autoattachVSOCK", true},
               {"autoattachGraphicsDevice", false},
               {"autoattachMemBalloon", false}};
  if (!hostdevs->empty()) devs["hostDevices"] = *hostdevs;
  auto nics = interfaces(r, spec, networks);
  if (nics.empty()) devs["autoattachPodInterface"] = false;
  else devs["interfaces"] = nics;

  Json domain_spec = {{"cpu", {{"sockets", 1}, {"cores", spec.vcpus}, {"threads", 1}}},
                      {"memory", {{"guest", gib(spec.memory_gib)}}},
                      {"features", {{"smm", {{"enabled", false}}}}},
                      {"firmware", firmware(r, spec, domain, options)},
                      {"devices", devs}};
  if (!spec.no_tdx) domain_spec["launchSecurity"] = {{"tdx", Json::object()}};

  Json vmi_spec = {{"domain", domain_spec}};
  if (!networks.empty()) vmi_spec["networks"] = networks;
  vmi_spec["volumes"] = volumes;

  r.manifest = {{"apiVersion", "kubevirt.io/v1"},
                {"kind", "VirtualMachine"},
                {"metadata", {{"name", r.name}, {"labels", {{"app.kubernetes.io/managed-by", "tdxctl"}}}}},
                {"spec",
                 {// A TD that powers itself off (refused unlock) stays off; a crash restarts it.
                  {"runStrategy", "RerunOnFailure"},
                  {"template",
                   {{"metadata", {{"labels", {{"kubevirt.io/domain", r.name}}}}}, {"spec", vmi_spec}}}}}};

  if (!spec.no_tdx) r.feature_gates.push_back("WorkloadEncryptionTDX");
  if (!devices.empty()) r.feature_gates.push_back("HostDevices");
  r.feature_gates.push_back("VSOCK");
  r.qgs_socket = spec.no_tdx ? "" : spec.qgs_socket;

  unmapped_measurements(r, spec, domain);
  unmapped(r, "td.vsock_cid", std::to_string(spec.vsock_cid),
           "KubeVirt assigns each VM's vsock CID itself (autoattachVSOCK)");
  if (!devices.empty())
    unmapped(r, "td.gpu_mmio_gib", std::to_string(spec.gpu_mmio_gib),
             "KubeVirt has no per-VM 64-bit MMIO window size; it sizes the window itself");
  return r;
}

Json KubevirtRender::to_json() const {
  Json claims_json = Json::array(), unmapped_json = Json::array();
  for (const auto& c : claims)
    claims_json.push_back({{"claim", c.claim}, {"path", c.path}, {"read_only", c.read_only}});
  for (const auto& u : unmapped)
    unmapped_json.push_back({{"key", u.key}, {"value", u.value}, {"reason", u.reason}});
  return {{"name", name},
          {"cluster",
           {{"feature_gates", feature_gates},
            {"qgs_socket_path", qgs_socket.empty() ? Json(nullptr) : Json(qgs_socket)},
            {"permitted_host_devices", permitted_host_devices}}},
          {"claims", claims_json},
          {"unmapped", unmapped_json},
          {"manifest", manifest}};
}

std::string KubevirtRender::to_yaml() const {
  std::vector<std::string> c;
  c.push_back("VirtualMachine for TD " + name + ", rendered by tdxctl (KubeVirt kubevirt.io/v1).");
  c.push_back("");
  c.push_back("The KubeVirt CR must allow (spec.configuration):");
  std::string gates;
  for (const auto& g : feature_gates) gates += (gates.empty() ? "" : ", ") + g;
  c.push_back("  developerConfiguration.featureGates: " + gates);
  if (!qgs_socket.empty())
    c.push_back("  confidentialCompute.tdx.attestation.qgsSocketPath: " + qgs_socket);
  for (const auto& d : permitted_host_devices)
    c.push_back("  permittedHostDevices.pciHostDevices: " + d["pciVendorSelector"].get<std::string>() + " as " +
                d["resourceName"].get<std::string>() +
                (d["externalResourceProvider"].get<bool>()
                     ? ", externalResourceProvider: true (NVIDIA's KubeVirt device plugin)"
                     : ", externalResourceProvider: false"));
  c.push_back("");
  c.push_back("Each disk is a PVC holding the file tdxctl would attach:");
  for (const auto& claim : claims)
    c.push_back("  " + claim.claim + ": " + claim.path + (claim.read_only ? " (read-only)" : ""));
  if (!unmapped.empty()) {
    c.push_back("");
    c.push_back("Not expressible in KubeVirt, so not in this manifest:");
    for (const auto& u : unmapped) c.push_back("  " + u.key + " = " + u.value + ": " + u.reason);
  }
  return config::to_yaml(manifest, c);
}

} // namespace tdx::td
