// Stage bookkeeping and the report's two renderings. Under --dry-run a
// stage that cannot be planned because an earlier stage is only planned
// (volumes not created yet, GPUs not bound yet) is reported as planned with
// the reason, not as a failure: the real run plans it after applying those.
#include "tdxctl/up/stage.hpp"

#include <ostream>

namespace tdx::up {

void StageRunner::log(const std::string& line) const {
  if (m_env.log) *m_env.log << line << std::endl;
}

bool StageRunner::run(const std::string& name, const std::vector<PlanFn>& plans, core::Json detail) {
  StageReport stage{name, "unchanged", {}, {}, core::Json::array(), std::move(detail)};
  log("==> " + name);
  bool changed = false, planned = false;
  for (const auto& make : plans) {
    try {
      auto plan = make();
      auto result = plan.apply(m_env.dry_run, m_env.progress);
      for (auto& s : result.steps) {
        planned = planned || s.status == "planned";
        stage.steps.push_back(std::move(s));
      }
      if (dry_run())
        for (auto& s : plan.to_json()) stage.plan.push_back(std::move(s));
      changed = changed || result.changed;
    } catch (const core::Failure& f) {
      if (dry_run() && (m_pending || planned) && f.error().category == core::Category::not_ready) {
        stage.steps.push_back({name + ".after-earlier-steps", "planned after the steps above are applied",
                               "planned", f.error().message});
        planned = true;
        break;
      }
      stage.status = "failed";
      stage.message = f.error().message;
      m_report.error = f.error();
      if (m_report.changed)
        m_report.error->hint += std::string(m_report.error->hint.empty() ? "" : "; ") +
                                "the stages before '" + name +
                                "' stay applied: fix the cause and re-run (each stage is idempotent)";
      log("    " + name + ": FAILED: " + f.error().message);
      m_report.stages.push_back(std::move(stage));
      return false;
    }
  }
  if (dry_run()) stage.status = planned ? "planned" : "unchanged";
  else stage.status = changed ? "changed" : "unchanged";
  if (stage.status == "unchanged") stage.message = "nothing to do";
  m_pending = m_pending || planned;
  m_report.changed = m_report.changed || changed;
  log("    " + name + ": " + stage.status + " (" + std::to_string(stage.steps.size()) + " step" +
      (stage.steps.size() == 1 ? "" : "s") + ")");
  m_report.stages.push_back(std::move(stage));
  return true;
}

void StageRunner::skip(const std::string& name, const std::string& why) {
  log("==> " + name + ": skipped (" + why + ")");
  m_report.stages.push_back({name, "skipped", why, {}, core::Json::array(), core::Json::object()});
}

void StageRunner::fail(const std::string& name, const core::Error& error) {
  log("==> " + name + ": FAILED: " + error.message);
  m_report.error = error;
  m_report.stages.push_back({name, "failed", error.message, {}, core::Json::array(), core::Json::object()});
}

void StageRunner::record(StageReport stage) {
  log("==> " + stage.name + ": " + stage.status + (stage.message.empty() ? "" : " (" + stage.message + ")"));
  if (stage.status == "changed") m_report.changed = true;
  m_report.stages.push_back(std::move(stage));
}

core::Json FlowReport::to_json() const {
  core::Json stages_json = core::Json::array();
  for (const auto& s : stages) {
    core::Json steps = core::Json::array();
    for (const auto& o : s.steps) {
      core::Json j{{"id", o.id}, {"status", o.status}, {"summary", o.summary}};
      if (!o.message.empty()) j["message"] = o.message;
      steps.push_back(std::move(j));
    }
    core::Json j{{"name", s.name}, {"status", s.status}, {"steps", std::move(steps)}};
    if (!s.message.empty()) j["message"] = s.message;
    if (dry_run && !s.plan.empty()) j["plan"] = s.plan;
    if (!s.detail.empty()) j["detail"] = s.detail;
    stages_json.push_back(std::move(j));
  }
  core::Json doc{{"dry_run", dry_run}, {"changed", changed}, {"stages", std::move(stages_json)}};
  if (error)
    doc["error"] = {{"code", error->code}, {"message", error->message}, {"exit_code", core::exit_code(error->category)}};
  return doc;
}

void FlowReport::print(std::ostream& out) const {
  if (dry_run) {
    for (const auto& s : stages) {
      if (s.plan.empty()) continue;
      out << s.name << " plan (" << s.plan.size() << " steps):\n";
      for (const auto& step : s.plan) {
        out << "  [" << step["kind"].get<std::string>() << "] " << step["summary"].get<std::string>() << '\n';
        const auto& d = step["detail"];
        if (!d.is_object()) continue;
        // The exact effect: sysfs value, argv, file/ruleset text, domain XML.
        if (d.contains("text") && d["text"].is_string()) core::print_step_text(out, d["text"].get<std::string>());
        else if (d.contains("xml") && d["xml"].is_string()) core::print_step_text(out, d["xml"].get<std::string>());
        else if (d.contains("argv")) out << "      " << d["argv"].dump() << '\n';
        else if (d.contains("path") && d.contains("value"))
          out << "      " << d["path"].get<std::string>() << " <- " << d["value"].dump() << '\n';
      }
    }
  }
  core::Table table({"STAGE", "STATUS", "STEPS", "DETAIL"});
  for (const auto& s : stages) {
    size_t changed = 0;
    for (const auto& o : s.steps) changed += o.status == "changed" || o.status == "planned";
    std::string steps = s.steps.empty() ? "-" : std::to_string(changed) + "/" + std::to_string(s.steps.size());
    std::string msg = s.message;
    if (auto nl = msg.find('\n'); nl != std::string::npos) msg = msg.substr(0, nl) + " ...";
    table.row({s.name, s.status, steps, msg});
  }
  table.print(out);
  if (dry_run) out << "dry run: nothing was changed\n";
  else if (error) out << "stopped at the failed stage\n";
  else if (!changed) out << "nothing to do: already in the desired state\n";
  else out << "done\n";
}

} // namespace tdx::up
