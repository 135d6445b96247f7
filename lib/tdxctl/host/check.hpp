#pragma once
// `tdxctl host check`: is this host ready to run TDs? Each check reads only
// through the Root (and libvirt through --connect), reports ok / warn / fail
// / skip with the value it observed and, when not ok, what to change.
// Checks depend on each other (no TDX in the CPU: no point looking at the TDX
// module), so a failed check skips its dependents, snpguest-style.

#include "tdxctl/core/output.hpp"
#include "tdxctl/core/root.hpp"

#include <ctime>
#include <optional>
#include <string>
#include <vector>

namespace tdx::host {

enum class Status { ok, warn, fail, skip };
const char* status_name(Status status);

struct CheckResult {
  std::string id;       // stable: "kvm.tdx"
  std::string title;    // "KVM has TDX enabled"
  Status status = Status::ok;
  std::string observed; // the value seen ("Y", "6.8.0-1004-intel", ...)
  std::string hint;     // what to do when not ok
  bool required = true; // a required check that fails makes the host not ready
};

// What libvirt says, gathered once (or not at all: reachable=false + reason).
struct LibvirtInfo {
  bool reachable = false;
  std::string reason; // why unreachable
  std::string uri;
  std::string libvirt_version;
  std::string hypervisor_version;
  bool tdx_supported = false;
  std::string caps_error; // domain capabilities could not be read
};

// Reads libvirt's versions and domain capabilities over `uri` (read-only).
LibvirtInfo probe_libvirt(const std::string& uri);
// True when a domainCapabilities document advertises TDX, either as
// <features><tdx supported='yes'/> or a launchSecurity sectype 'tdx'.
bool domain_caps_support_tdx(const std::string& caps_xml);

struct CheckOptions {
  std::string qgs_socket = "/var/run/tdx-qgs/qgs.socket";
  bool require_attestation = false;
  // The collateral cache (under the Root unless given) and the time its
  // expiry is judged at (0: now).
  std::string collateral_cache;
  time_t at = 0;
  // PCCS/PCS to probe: this URL, else the PCCS of the QPL's
  // /etc/sgx_default_qcnl.conf; neither: the probe is skipped.
  std::string pccs_url;
  std::string pccs_cacert;
  long pccs_timeout_s = 3;
  std::vector<std::string> firmware; // candidate TDVF paths; first found wins
  std::optional<LibvirtInfo> libvirt; // nullopt: libvirt check skipped
};

std::vector<std::string> default_firmware_paths();

struct HostReport {
  std::vector<CheckResult> checks;
  bool ready() const; // no required check failed
  core::Json to_json() const;
  void print(std::ostream& out) const;
};

HostReport run_host_checks(const core::Root& root, const CheckOptions& options);

// The individual checks (one file per family), exposed for tests.
CheckResult check_cpu_tdx(const core::Root& root);
CheckResult check_cpu_generation(const core::Root& root);
CheckResult check_kernel(const core::Root& root);
CheckResult check_kvm_device(const core::Root& root);
CheckResult check_kvm_tdx(const core::Root& root);
CheckResult check_tdx_module(const core::Root& root);
CheckResult check_td_capacity(const core::Root& root);
CheckResult check_sgx(const core::Root& root);
CheckResult check_qgs(const core::Root& root, const CheckOptions& options);
CheckResult check_iommu(const core::Root& root);
CheckResult check_iommufd(const core::Root& root);
CheckResult check_vfio(const core::Root& root, bool gpus_present);
CheckResult check_vsock(const core::Root& root);
CheckResult check_firmware(const core::Root& root, const CheckOptions& options);
CheckResult check_libvirt(const CheckOptions& options);
CheckResult check_collateral_cache(const core::Root& root, const CheckOptions& options);
CheckResult check_collateral_service(const core::Root& root, const CheckOptions& options);
CheckResult check_memory(const core::Root& root);
std::vector<CheckResult> check_gpus(const core::Root& root);

// Small shared helpers for the check files.
CheckResult make_result(std::string id, std::string title, Status status, std::string observed,
                        std::string hint = {}, bool required = true);
// The value of the first "key : value" line of /proc/cpuinfo with that key.
std::optional<std::string> cpuinfo_value(const core::Root& root, const std::string& key);
bool module_loaded(const core::Root& root, const std::string& name);
// True when the module is loaded, built in, or its .ko is installed.
bool module_available(const core::Root& root, const std::string& name);

} // namespace tdx::host
