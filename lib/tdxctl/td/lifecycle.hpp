#pragma once
// What `tdxctl td` does: prepare (resolve devices and firmware, render),
// refuse when preconditions fail, and plan launch / stop / undefine as
// idempotent core::Plans over a libvirt Connection; status and list read back
// what libvirt holds, including the topology digest recorded at define time.

#include "tdxctl/core/output.hpp"
#include "tdxctl/core/plan.hpp"
#include "tdxctl/core/root.hpp"
#include "tdxctl/core/runner.hpp"
#include "tdxctl/td/connection.hpp"
#include "tdxctl/td/domain_xml.hpp"
#include "tdxctl/td/spec.hpp"

#include <memory>
#include <string>
#include <vector>

namespace tdx::td {

// The loader: spec.firmware, else the first default TDVF found under the Root,
// else the first default (so rendering stays deterministic on any machine).
std::string resolve_firmware(const core::Root& root, const TdSpec& spec);

// Resolves devices and firmware and renders the domain.
core::Result<RenderedDomain> prepare_domain(const core::Root& root, const TdSpec& spec,
                                            const std::string& domain_type,
                                            const std::string& config_source);

struct LaunchChecks {
  bool require_attestation = false;
  bool host_check = true; // run `host check` (TDX profile only)
  std::string connect_uri;
};

// Refusals before anything is defined, all Category::not_ready (exit 3)
// unless the request contradicts itself (exit 2): the host check's required
// checks, libvirt lacking TDX, a GPU/NVSwitch not on vfio-pci, a missing image
// or volume, a config volume that does not match its manifest, under
// td.boot: direct a missing image manifest or a kernel, initrd or command line
// whose SHA-384 differs from it (boot_files.hpp), missing firmware, a missing
// QGS socket under --require-attestation. `probe` runs the read-only
// commands (qemu-img info of a config volume that needs reading back).
core::Result<void> preflight(const core::Root& root, core::ProcessRunner& probe, const TdSpec& spec,
                             const LaunchChecks& checks);

// SHA-384 of a file, streamed (hex).
core::Result<std::string> sha384_file(const std::string& path);

// define (or redefine when the topology changed, keeping the UUID), start,
// and optionally mark autostart. Each step is skipped when already true.
core::Plan plan_launch(std::shared_ptr<Connection> conn, const RenderedDomain& domain,
                       bool autostart);

struct StopOptions {
  int timeout_s = 120;
  bool force = false; // destroy when the guest does not shut down in time
};
core::Plan plan_stop(std::shared_ptr<Connection> conn, const std::string& name,
                     const StopOptions& options);
// Refuses (not_ready) a running domain unless force, which destroys it first.
core::Plan plan_undefine(std::shared_ptr<Connection> conn, const std::string& name, bool force);

struct DeviceInfo {
  std::string kind;   // disk | interface | hostdev | vsock | console
  std::string detail; // "vda td-root /var/lib/..." etc.
};

struct DomainStatus {
  std::string name;
  std::string uuid;
  std::string state; // running | shut off | paused | ...
  bool persistent = false;
  bool autostart = false;
  long long uptime_s = -1; // -1: not running or unknown
  unsigned vcpus = 0;
  unsigned long long memory_kib = 0;
  std::string profile; // tdx | no-tdx | "" (not made by tdxctl)
  bool debug = false;
  bool insecure = false;
  bool tdx = false; // <launchSecurity type='tdx'> present
  std::string topology_digest; // of the running (else the defined) domain
  std::string pending_digest;  // the definition's, when it differs from the running one
  std::string expected_digest; // from -c/flags when given
  int vsock_cid = -1;
  std::string console; // pty path when running
  std::vector<DeviceInfo> devices;
  core::Json to_json() const;
  void print(std::ostream& out) const;
};

// The topology digest tdxctl recorded in the domain's metadata ("" if none).
std::string recorded_topology_digest(const Domain& dom);

core::Result<DomainStatus> domain_status(const Connection& conn, const std::string& name);

struct DomainSummary {
  std::string name;
  std::string state;
  std::string profile;
  std::string topology_digest;
};
std::vector<DomainSummary> list_domains(const Connection& conn);
core::Json to_json(const std::vector<DomainSummary>& list);
void print(std::ostream& out, const std::vector<DomainSummary>& list);

} // namespace tdx::td
