#pragma once
// The same TD as a KubeVirt VirtualMachine (kubevirt.io/v1), for operators
// who run KubeVirt: TDX launch security as KubeVirt's TDX support defines it
// (domain.launchSecurity.tdx, stateless EFI, no SMM), the GPUs and NVSwitches
// as hostDevices under the resource names NVIDIA's KubeVirt device plugin
// gives them, the root/config/cache/containerd disks as PVCs, memory, CPU,
// vsock and the NIC.
//
// KubeVirt cannot express everything a libvirt TD has (mrConfigId,
// mrOwner, the DEBUG attribute, a chosen TDVF, a vsock CID, the 64-bit MMIO
// window, host-file kernels, macvtap). Each such value is listed, with what
// it costs, in `unmapped`, never dropped silently; what the KubeVirt CR must
// allow (feature gates, the QGS socket, permitted host devices) is listed in
// `cluster`, since a VirtualMachine cannot set it.

#include "tdxctl/core/error.hpp"
#include "tdxctl/core/output.hpp"
#include "tdxctl/core/root.hpp"
#include "tdxctl/td/domain_xml.hpp"
#include "tdxctl/td/spec.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace tdx::td {

// Where Debian's pci.ids lives (package pci.ids), read under the Root.
inline constexpr const char* pci_ids_path = "/usr/share/misc/pci.ids";

struct KubevirtOptions {
  // Container image holding the direct-boot kernel and initrd under /boot
  // (KubeVirt's firmware.kernelBoot.container); empty: direct boot unmapped.
  std::string kernel_container;
};

struct Unmapped {
  std::string key;    // the host.yaml key ("td.mr_config_id")
  std::string value;  // what tdxctl would have set
  std::string reason; // why KubeVirt cannot, and what that changes
};

struct ClaimSource {
  std::string claim; // PVC name in the manifest
  std::string path;  // the host file it stands for
  bool read_only = false;
};

struct KubevirtRender {
  std::string name;
  core::Json manifest;            // the VirtualMachine
  std::vector<std::string> feature_gates;
  std::string qgs_socket;         // for the KubeVirt CR; empty: none
  core::Json permitted_host_devices = core::Json::array(); // [{pciVendorSelector, resourceName}]
  std::vector<ClaimSource> claims;
  std::vector<Unmapped> unmapped;

  core::Json to_json() const;
  // The manifest as YAML, after comment lines saying what the cluster must
  // allow, which PVC holds which file, and every unmapped value.
  std::string to_yaml() const;
};

// A Kubernetes object name usable as a pod's (DNS-1123 label): lower-case
// letters, digits and '-', at most 63, starting and ending alphanumeric.
bool valid_kubernetes_name(std::string_view name);

// The resource name NVIDIA's kubevirt-gpu-device-plugin registers for an
// NVIDIA device ID: "nvidia.com/" + its pci.ids name upper-cased, '/' and
// '.' and whitespace runs as '_', anything else not alphanumeric or '_'
// dropped; the 4 hex digits when pci.ids lacks it. `pci_ids` is the file's text.
std::string nvidia_resource_name(std::string_view pci_ids, uint16_t device);

// `domain` is what render_domain made of `spec` (name, mrConfigId, boot,
// the resolved passthrough devices). Errors: td.kubevirt_name
// (invalid_input) for a name Kubernetes refuses; td.render_flag (usage) for
// --kernel-container without direct boot; td.device_missing (not_ready) for a
// device sysfs does not show.
core::Result<KubevirtRender> render_kubevirt(const core::Root& root, const TdSpec& spec,
                                             const RenderedDomain& domain,
                                             const KubevirtOptions& options);

} // namespace tdx::td
