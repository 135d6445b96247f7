// Plan application with rollback. A step whose is_done() is true counts as
// "unchanged", so running the same command twice reports "nothing to do".
#include "tdxctl/core/plan.hpp"

#include <spdlog/spdlog.h>

#include <ostream>
#include <string_view>

namespace tdx::core {

Json command_detail(const Command& command) {
  Json detail{{"argv", command.argv}};
  if (!command.stdin_data.empty() && !command.stdin_is_secret) detail["stdin"] = command.stdin_data;
  return detail;
}

Json PlanReport::to_json() const {
  Json steps_json = Json::array();
  for (const auto& s : steps) {
    Json j{{"id", s.id}, {"status", s.status}, {"summary", s.summary}};
    if (!s.message.empty()) j["message"] = s.message;
    steps_json.push_back(std::move(j));
  }
  return Json{{"dry_run", dry_run}, {"changed", changed}, {"steps", std::move(steps_json)}};
}

void PlanReport::print(std::ostream& out) const {
  for (const auto& s : steps) out << "  " << s.status << ": " << s.summary << '\n';
  if (dry_run) out << "dry run: nothing was changed\n";
  else if (!changed) out << "nothing to do: already in the desired state\n";
}

Json Plan::to_json() const {
  Json arr = Json::array();
  for (const auto& s : m_steps)
    arr.push_back({{"id", s.id}, {"kind", s.kind}, {"summary", s.summary}, {"detail", s.detail}});
  return arr;
}

void print_step_text(std::ostream& out, const std::string& text) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    out << "      " << std::string_view(text).substr(pos, nl - pos) << '\n';
    pos = nl + 1;
  }
}

void Plan::print(std::ostream& out) const {
  for (const auto& s : m_steps) {
    out << "  [" << s.kind << "] " << s.summary << '\n';
    // A step whose exact effect is a text (a ruleset, a file) shows it in full.
    if (s.detail.is_object() && s.detail.contains("text") && s.detail["text"].is_string()) {
      print_step_text(out, s.detail["text"].get<std::string>());
    }
  }
}

PlanReport Plan::apply(DryRun dry_run, ProgressSink& progress) const {
  PlanReport report;
  report.dry_run = dry_run == DryRun::yes;
  std::vector<const Step*> applied;
  for (size_t i = 0; i < m_steps.size(); ++i) {
    const auto& step = m_steps[i];
    bool done = step.is_done && step.is_done();
    if (report.dry_run) {
      report.steps.push_back({step.id, step.summary, done ? "unchanged" : "planned", {}});
      continue;
    }
    if (done) {
      report.steps.push_back({step.id, step.summary, "unchanged", {}});
      continue;
    }
    progress.step(i + 1, m_steps.size(), step.summary);
    try {
      if (step.apply) step.apply();
      applied.push_back(&step);
      report.changed = true;
      report.steps.push_back({step.id, step.summary, "changed", {}});
    } catch (const Failure& failure) {
      size_t undone = 0;
      std::vector<std::string> undo_failures;
      for (auto it = applied.rbegin(); it != applied.rend(); ++it) {
        if (!(*it)->undo) continue;
        try {
          (*it)->undo();
          ++undone;
        } catch (const std::exception& e) {
          undo_failures.push_back((*it)->id + ": " + e.what());
        }
      }
      auto error = failure.error();
      error.message = "step '" + step.summary + "' failed: " + error.message;
      if (!undo_failures.empty()) {
        error.category = Category::partial;
        error.message += "; rollback incomplete (" + undo_failures.front() + ")";
        error.hint = "the host is partly configured; fix the cause and re-run, or run the "
                     "matching 'down'/'unbind' command";
      } else if (!applied.empty()) {
        error.message += "; rolled back " + std::to_string(undone) + " earlier step(s)";
      }
      throw Failure(std::move(error));
    }
  }
  return report;
}

} // namespace tdx::core
