#pragma once
// Plan, then apply (DESIGN principle 3, systemd-repart's shape). A mutating
// command first computes a Plan: an ordered list of Steps, each with what it
// would do (the exact sysfs write, argv, file, ruleset or XML), whether it is
// already done, how to apply it and how to undo it. --dry-run prints the plan
// and touches nothing; apply runs the steps not yet done, stops at the first
// failure and rolls back what it changed, in reverse order.

#include "tdxctl/core/output.hpp"
#include "tdxctl/core/progress.hpp"
#include "tdxctl/core/runner.hpp"

#include <functional>
#include <string>
#include <vector>

namespace tdx::core {

enum class DryRun { no, yes };

struct Step {
  std::string id;      // stable and unique in the plan: "vfio.bind.0000:3b:00.0"
  std::string kind;    // sysfs-write | command | file | ruleset | xml | libvirt | check
  std::string summary; // one human line: what this step does
  Json detail;         // the exact effect (path+value, argv, ruleset text, ...)
  std::function<bool()> is_done; // true: desired state already holds (may be empty)
  std::function<void()> apply;   // throws Failure when it cannot
  std::function<void()> undo;    // best-effort rollback (may be empty)
};

// A command step's detail: the argv, and the stdin unless it is a secret.
// Build the Command once (with placeholders such as $WORK for paths made only
// when the step applies) so the plan shows what apply runs.
Json command_detail(const Command& command);

struct StepOutcome {
  std::string id;
  std::string summary;
  std::string status; // planned | changed | unchanged | failed | rolled-back
  std::string message;
};

struct PlanReport {
  bool dry_run = false;
  bool changed = false;
  std::vector<StepOutcome> steps;
  Json to_json() const;
  void print(std::ostream& out) const;
};

// A step's exact effect (a ruleset, a file, domain XML), one line at a time,
// indented under the step's summary line in a --dry-run listing.
void print_step_text(std::ostream& out, const std::string& text);

class Plan {
public:
  void add(Step step) { m_steps.push_back(std::move(step)); }
  const std::vector<Step>& steps() const { return m_steps; }
  bool empty() const { return m_steps.empty(); }

  // Dry run: report every step as "planned" (or "unchanged" if already done)
  // without applying anything. Otherwise apply; on a failure, undo changed
  // steps in reverse and throw Failure (failed, or partial if an undo failed).
  PlanReport apply(DryRun dry_run, ProgressSink& progress) const;
  Json to_json() const; // every step with its detail, for --dry-run -o json
  void print(std::ostream& out) const;

private:
  std::vector<Step> m_steps;
};

} // namespace tdx::core
