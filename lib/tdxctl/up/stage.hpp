#pragma once
// Running one stage of `up`/`down` (internal to lib/tdxctl/up): its plans
// are computed one after the other, each only after the previous one has
// been applied, because planning reads the state the previous one makes.

#include "tdxctl/up/flow.hpp"

#include <functional>

namespace tdx::up {

using PlanFn = std::function<core::Plan()>;

class StageRunner {
public:
  StageRunner(const FlowEnv& env, FlowReport& report) : m_env(env), m_report(report) {}

  // Plans and applies `plans` in order as stage `name`. Returns false when
  // the stage failed (the report then holds the error and the flow stops).
  bool run(const std::string& name, const std::vector<PlanFn>& plans,
           core::Json detail = core::Json::object());
  // A stage with nothing to do by configuration.
  void skip(const std::string& name, const std::string& why);
  // A stage that failed before it had a plan.
  void fail(const std::string& name, const core::Error& error);
  // The flow's error without a stage of its own (the stage is recorded).
  void fail_report(core::Error error) { m_report.error = std::move(error); }
  // A stage whose outcome is not a plan (host checks, attestation).
  void record(StageReport stage);

  bool dry_run() const { return m_env.dry_run == core::DryRun::yes; }
  // Under --dry-run: an earlier step is only planned, so what later stages
  // read (drivers, files, links) is not there yet.
  bool pending() const { return m_pending; }
  void log(const std::string& line) const;

private:
  const FlowEnv& m_env;
  FlowReport& m_report;
  bool m_pending = false;
};

} // namespace tdx::up
