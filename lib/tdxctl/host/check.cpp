// The check tree and the report. Order and dependencies live here; what each
// check reads lives in the family files beside this one.
#include "tdxctl/host/check.hpp"

#include <algorithm>
#include <map>
#include <ostream>
#include <sstream>

namespace tdx::host {

const char* status_name(Status status) {
  switch (status) {
  case Status::ok: return "ok";
  case Status::warn: return "warn";
  case Status::fail: return "fail";
  case Status::skip: return "skip";
  }
  return "fail";
}

CheckResult make_result(std::string id, std::string title, Status status, std::string observed,
                        std::string hint, bool required) {
  return CheckResult{std::move(id), std::move(title), status, std::move(observed),
                     std::move(hint), required};
}

bool HostReport::ready() const {
  return std::none_of(checks.begin(), checks.end(), [](const CheckResult& c) {
    return c.required && c.status == Status::fail;
  });
}

core::Json HostReport::to_json() const {
  core::Json arr = core::Json::array();
  for (const auto& c : checks)
    arr.push_back({{"id", c.id},
                   {"title", c.title},
                   {"status", status_name(c.status)},
                   {"required", c.required},
                   {"observed", c.observed},
                   {"hint", c.hint}});
  return core::Json{{"ready", ready()}, {"checks", std::move(arr)}};
}

void HostReport::print(std::ostream& out) const {
  size_t width = 0;
  for (const auto& c : checks) width = std::max(width, c.title.size());
  for (const auto& c : checks) {
    std::string tag = c.status == Status::ok     ? "  OK  "
                      : c.status == Status::warn ? " WARN "
                      : c.status == Status::fail ? " FAIL "
                                                 : " SKIP ";
    out << '[' << tag << "] " << c.title << std::string(width - c.title.size() + 2, ' ')
        << c.observed << '\n';
    if (c.status != Status::ok && !c.hint.empty()) out << "         hint: " << c.hint << '\n';
  }
  size_t fails = std::count_if(checks.begin(), checks.end(), [](const CheckResult& c) {
    return c.required && c.status == Status::fail;
  });
  size_t warns = std::count_if(checks.begin(), checks.end(),
                               [](const CheckResult& c) { return c.status == Status::warn; });
  if (ready())
    out << "host is ready for TDs" << (warns ? " (" + std::to_string(warns) + " warning(s))" : "")
        << '\n';
  else
    out << "host is NOT ready for TDs: " << fails << " required check(s) failed\n";
}

HostReport run_host_checks(const core::Root& root, const CheckOptions& options) {
  HostReport report;
  std::map<std::string, Status> seen;
  // Adds a check unless one it depends on failed; then it is skipped, naming why.
  auto add = [&](const std::vector<std::string>& deps, auto&& run) {
    for (const auto& dep : deps) {
      auto it = seen.find(dep);
      if (it != seen.end() && it->second == Status::fail) {
        CheckResult r = run();
        r.status = Status::skip;
        r.observed = "skipped: " + dep + " failed";
        r.hint.clear();
        seen[r.id] = Status::skip;
        report.checks.push_back(std::move(r));
        return;
      }
    }
    CheckResult r = run();
    seen[r.id] = r.status;
    report.checks.push_back(std::move(r));
  };

  add({}, [&] { return check_cpu_tdx(root); });
  add({}, [&] { return check_cpu_generation(root); });
  add({}, [&] { return check_kernel(root); });
  add({}, [&] { return check_kvm_device(root); });
  add({"cpu.tdx"}, [&] { return check_kvm_tdx(root); });
  add({"cpu.tdx", "kvm.tdx"}, [&] { return check_tdx_module(root); });
  add({"cpu.tdx", "kvm.tdx"}, [&] { return check_td_capacity(root); });
  add({}, [&] { return check_sgx(root); });
  add({}, [&] { return check_qgs(root, options); });
  add({}, [&] { return check_iommu(root); });
  add({}, [&] { return check_iommufd(root); });
  auto gpus = check_gpus(root);
  bool gpus_present = std::any_of(gpus.begin(), gpus.end(),
                                  [](const CheckResult& c) { return c.id != "gpu.present"; });
  add({}, [&] { return check_vfio(root, gpus_present); });
  add({}, [&] { return check_vsock(root); });
  add({}, [&] { return check_firmware(root, options); });
  add({}, [&] { return check_libvirt(options); });
  add({}, [&] { return check_collateral_cache(root, options); });
  add({}, [&] { return check_collateral_service(root, options); });
  add({}, [&] { return check_memory(root); });
  for (auto& g : gpus) {
    seen[g.id] = g.status;
    report.checks.push_back(std::move(g));
  }
  return report;
}

} // namespace tdx::host
