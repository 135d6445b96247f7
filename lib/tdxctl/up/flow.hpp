#pragma once
// `tdxctl up` / `tdxctl down`: the command groups composed, stage by stage.
// Each stage computes its group's core::Plan only when the stages before it
// have been applied (GPUs must be on vfio-pci before the TD's devices
// resolve; volumes must exist before the TD's preflight), applies it, and
// records the outcome. A stage whose steps are all already done reports
// "unchanged", so a second `up` says "nothing to do" per stage. Under
// --dry-run every stage is planned and printed, nothing is applied.

#include "tdxctl/core/error.hpp"
#include "tdxctl/core/plan.hpp"
#include "tdxctl/core/progress.hpp"
#include "tdxctl/core/root.hpp"
#include "tdxctl/core/runner.hpp"
#include "tdxctl/up/host_file.hpp"

#include <optional>
#include <string>
#include <vector>

namespace tdx::up {

struct FlowEnv {
  const core::Root& root;
  core::ProcessRunner& probe;   // read-only commands, real even under --dry-run
  core::ProcessRunner& effects; // changing commands (recording under --dry-run)
  core::ProgressSink& progress;
  std::ostream* log = nullptr;  // per-stage progress lines (stderr), or none
  std::string connect_uri;
  core::DryRun dry_run = core::DryRun::no;
};

struct UpOptions {
  bool recreate_volumes = false; // replace volumes that differ from host.yaml
  bool attest = false;
  bool no_tdx = false;           // INSECURE: the TD as a plain VM (libvirt test driver, dev)
  bool autostart = false;
  int attest_timeout_s = -1;     // -1: attest.timeout from host.yaml
};

struct DownOptions {
  int timeout_s = 120;       // graceful shutdown, then destroy
  bool release_gpus = false; // give the GPUs back to their host drivers
};

struct StageReport {
  std::string name;   // host | gpu | volumes | network | td | attest
  std::string status; // changed | unchanged | planned | skipped | failed
  std::string message;
  std::vector<core::StepOutcome> steps;
  core::Json plan = core::Json::array(); // under --dry-run: every step with its exact effect
  core::Json detail = core::Json::object();
};

struct FlowReport {
  std::string schema; // tdxctl.up/1 | tdxctl.down/1
  bool dry_run = false;
  bool changed = false;
  std::vector<StageReport> stages;
  std::optional<core::Error> error; // the stage that failed, if any

  core::Json to_json() const;
  // The plan (under --dry-run, with file texts and the domain XML), then a
  // summary table: one row per stage.
  void print(std::ostream& out) const;
};

// Never throws for a stage failure: the failed stage is in the report and
// `error` says why (host not ready: not_ready, exit 3 before any change).
FlowReport run_up(const FlowEnv& env, const HostFile& file, const UpOptions& options);
FlowReport run_down(const FlowEnv& env, const HostFile& file, const DownOptions& options);

} // namespace tdx::up
