// `tdxctl up`: host check -> GPUs -> volumes -> network -> TD -> attest.
// The order is the dependency order: the host check gates every change
// (exit 3 before anything is touched), the TD's devices and disks must
// exist before it is defined, and a quote can only come from a running TD.
#include "tdxctl/up/flow.hpp"

#include "tdxctl/attest/fresh_quote.hpp"
#include "tdxctl/gpu/cc_mode.hpp"
#include "tdxctl/gpu/ppcie.hpp"
#include "tdxctl/gpu/vfio_plan.hpp"
#include "tdxctl/host/check.hpp"
#include "tdxctl/net/link.hpp"
#include "tdxctl/net/recipes.hpp"
#include "tdxctl/td/launch.hpp"
#include "tdxctl/td/lifecycle.hpp"
#include "tdxctl/up/stage.hpp"
#include "tdxctl/volume/cache_volume.hpp"
#include "tdxctl/volume/config_volume.hpp"

#include <filesystem>

namespace tdx::up {

using core::Category;

namespace {

bool host_stage(const FlowEnv& env, const HostFile& file, const UpOptions& options, StageRunner& run) {
  host::CheckOptions checks;
  checks.qgs_socket = file.td.qgs_socket.empty() ? td::default_qgs_socket : file.td.qgs_socket;
  checks.require_attestation = file.require_attestation;
  // td.firmware first, then the usual TDVF paths (first found wins).
  if (!file.td.firmware.empty()) {
    checks.firmware = host::default_firmware_paths();
    checks.firmware.insert(checks.firmware.begin(), file.td.firmware);
  }
  // A --no-tdx VM does not need libvirt to offer TDX (the test driver does not).
  if (!options.no_tdx) checks.libvirt = host::probe_libvirt(env.connect_uri);
  auto report = host::run_host_checks(env.root, checks);
  StageReport stage{"host", "unchanged", {}, {}, core::Json::array(), core::Json::object()};
  std::string failed;
  for (const auto& c : report.checks) {
    bool bad = c.status == host::Status::fail && c.required;
    if (bad) failed += (failed.empty() ? "" : ", ") + c.id;
    stage.steps.push_back({"host." + c.id, c.title + (c.observed.empty() ? "" : ": " + c.observed),
                           bad ? "failed" : "unchanged",
                           c.status == host::Status::ok ? "" : host::status_name(c.status) +
                               std::string(c.hint.empty() ? "" : " (" + c.hint + ")")});
  }
  if (!report.ready()) {
    stage.status = "failed";
    stage.message = "required checks failed: " + failed;
    run.record(std::move(stage));
    run.fail_report(core::Error{Category::not_ready, "up.host_not_ready",
                                "host is not ready for TDs (" + failed + "); nothing was changed",
                                "see `tdxctl host check` for each check's hint"});
    return false;
  }
  stage.message = "all required checks passed";
  run.record(std::move(stage));
  return true;
}

// A volume planner refuses an existing output with "pass --force"; up's
// flag for that is --recreate-volumes, and the file holds the guest's data.
core::Error in_up_terms(core::Error error) {
  if (error.code == "output.exists") {
    error.message += " with other content than host.yaml describes";
    error.hint = "keep it (fix host.yaml), or pass --recreate-volumes to replace it (its data is lost)";
  }
  return error;
}

struct VolumeResults {
  std::string config_digest; // hex, when the config volume is planned from host.yaml
};

std::vector<PlanFn> volume_plans(const FlowEnv& env, const HostFile& file, const UpOptions& options,
                                 VolumeResults& results) {
  std::vector<PlanFn> plans;
  auto force = options.recreate_volumes ? core::Force::yes : core::Force::no;
  const auto& td = file.td;
  if (!td.config_volume.empty() && file.config) {
    auto values = std::make_shared<const volume::ConfigValues>(
        core::value_or_throw(volume::resolve_config(*file.config, env.root)));
    auto planned = std::make_shared<volume::ConfigVolumePlan>(
        volume::plan_config_volume({td.config_volume, file.volumes.format, force}, values, env.probe,
                                   env.effects));
    results.config_digest = planned->digest;
    plans.push_back([planned] { return planned->plan; });
  } else if (!td.config_volume.empty()) {
    // No values to create it from: it must already be there, with its manifest.
    plans.push_back([path = td.config_volume] {
      core::Plan plan;
      plan.add({"volume.config.exists", "check", "config volume " + path + " and its manifest exist",
                core::Json{{"path", path}},
                [path] { return std::filesystem::exists(path) && std::filesystem::exists(td::manifest_path(path)); },
                [path] {
                  throw core::Failure(Category::not_ready, "up.config_volume_missing",
                                      "td.config_volume " + path + " (or its .sha384 manifest) does not exist "
                                      "and host.yaml has no config: section to create it from",
                                      "add a config: section, or create it with `tdxctl volume config create`");
                },
                {}});
      return plan;
    });
  }
  auto cache = [&](const std::string& path, volume::CacheKind kind, const std::string& size) {
    if (path.empty()) return;
    volume::CacheVolumeRequest req{path, kind, size, {}, file.volumes.format, force};
    plans.push_back([req, &env] {
      try {
        return volume::plan_cache_volume(req, env.probe, env.effects).plan;
      } catch (const core::Failure& f) {
        throw core::Failure(in_up_terms(f.error()));
      }
    });
  };
  cache(td.cache_volume, volume::CacheKind::cache, file.volumes.cache_size);
  cache(td.containerd_volume, volume::CacheKind::containerd, file.volumes.containerd_size);
  return plans;
}

void attest_stage(const FlowEnv& env, const HostFile& file, const UpOptions& options,
                  const std::string& domain, StageRunner& run) {
  if (!options.attest) return run.skip("attest", "--attest not given");
  if (!file.attest)
    return run.fail("attest", {Category::invalid_input, "up.no_attest_section",
                               "--attest needs an attest: section in " + file.path.string(),
                               "add attest.collateral (and attest.policy) to host.yaml"});
  const auto& a = *file.attest;
  attest::FreshQuoteRequest req;
  req.connect_uri = env.connect_uri;
  req.domain = domain;
  req.port = a.port;
  req.unix_socket = a.unix_socket;
  req.timeout_s = options.attest_timeout_s >= 0 ? options.attest_timeout_s : a.timeout_s;
  req.verify = a.verify;
  StageReport stage{"attest", "planned", {}, {}, core::Json::array(), core::Json::object()};
  std::string what = "fetch a quote bound to a fresh nonce from " +
                     (a.unix_socket.empty() ? "domain " + domain + " (vsock port " + std::to_string(a.port) + ")"
                                            : a.unix_socket) +
                     " and verify it" + (a.verify.policy.empty() ? "" : " against " + a.verify.policy);
  if (run.dry_run()) {
    stage.steps.push_back({"attest.quote", what, "planned", {}});
    stage.plan.push_back({{"id", "attest.quote"}, {"kind", "check"}, {"summary", what},
                          {"detail", {{"collateral", a.verify.collateral}, {"policy", a.verify.policy}}}});
    return run.record(std::move(stage));
  }
  run.log("==> attest: waiting up to " + std::to_string(req.timeout_s) + " s for the TD's attestation endpoint");
  auto result = attest::fetch_and_verify(req);
  if (!result) return run.fail("attest", result.error());
  stage.detail = {{"endpoint", result->endpoint}, {"nonce", result->nonce_hex},
                  {"quote_size", result->quote_size}, {"verification", result->verification}};
  stage.message = result->summary;
  if (!result->accepted) {
    stage.status = "failed";
    stage.steps.push_back({"attest.quote", what, "failed", result->summary});
    run.record(std::move(stage));
    return run.fail_report({Category::not_ready, "up.attestation_failed",
                            "attestation failed: " + result->summary,
                            "the TD is running but must not be trusted; see the verification in "
                            "`-o json` (stages[attest].detail)"});
  }
  stage.status = "unchanged";
  stage.steps.push_back({"attest.quote", what, "unchanged", result->summary});
  run.record(std::move(stage));
}

} // namespace

FlowReport run_up(const FlowEnv& env, const HostFile& file, const UpOptions& options) {
  FlowReport report;
  report.schema = "tdxctl.up/1";
  report.dry_run = env.dry_run == core::DryRun::yes;
  StageRunner run(env, report);

  if (!host_stage(env, file, options, run)) return report;

  if (!file.gpu) {
    run.skip("gpu", "no gpu: section");
  } else {
    gpu::BindRequest bind{file.gpu->devices, file.gpu->all, core::Force::no,
                          file.gpu->persist ? gpu::Persist::yes : gpu::Persist::no};
    std::vector<PlanFn> plans{[&env, bind] {
      return core::value_or_throw(gpu::plan_bind(env.root, env.effects, bind)).plan;
    }};
    if (file.gpu->mode) {
      gpu::ModeRequest modes{file.gpu->devices, file.gpu->all, file.gpu->admin_tool, core::Force::no};
      auto mode = *file.gpu->mode;
      plans.push_back([&env, modes, mode] {
        if (mode == GpuMode::ppcie)
          return core::value_or_throw(gpu::plan_ppcie(env.root, env.effects, modes, gpu::PpcieMode::on, env.dry_run)).plan;
        auto cc = mode == GpuMode::cc ? gpu::CcMode::on : gpu::CcMode::off;
        return core::value_or_throw(gpu::plan_cc(env.root, env.effects, modes, cc, env.dry_run)).plan;
      });
    }
    if (!run.run("gpu", plans)) return report;
  }

  VolumeResults volumes;
  std::vector<PlanFn> volume_stage;
  try {
    volume_stage = volume_plans(env, file, options, volumes);
  } catch (const core::Failure& f) {
    run.fail("volumes", in_up_terms(f.error()));
    return report;
  }
  if (volume_stage.empty()) run.skip("volumes", "td: names no config, cache or containerd volume");
  else if (!run.run("volumes", volume_stage)) return report;

  auto net_summary = std::make_shared<core::Json>(core::Json::object());
  if (!file.network) {
    run.skip("network", "no network: section");
  } else {
    net::NetEnv net_env{env.root, env.probe, env.effects};
    if (!run.run("network", {[net_env, &file, net_summary] {
          auto plan = net::plan_up(net_env, *file.network);
          *net_summary = *plan.summary;
          return plan.plan;
        }}))
      return report;
  }

  auto spec = std::make_shared<td::TdSpec>(file.td);
  if (options.no_tdx) spec->no_tdx = true, spec->debug = false;
  if (spec->net.mode == net::Mode::macvtap && spec->net.source.empty())
    spec->net.source = net_summary->value("public_interface", std::string());
  // The digest the volumes stage wrote (or will write) is what the manifest
  // holds; taking it from there lets --dry-run render the real XML too.
  if (!spec->mr_config_id && !volumes.config_digest.empty())
    spec->mr_config_id = core::value_or_throw(td::parse_measurement(volumes.config_digest, "config volume digest"));
  auto domain_name = std::make_shared<std::string>(spec->name);
  auto detail = std::make_shared<core::Json>();
  bool ok = run.run("td", {[&env, &file, &options, &run, spec, domain_name, detail] {
    // The host checks ran in the host stage; the rest of the preflight
    // (devices on vfio-pci, disks present, manifest) needs the stages above
    // applied, so under --dry-run it may have to wait for the real run.
    auto l = td::launch(env.root, env.probe,
                        {*spec, file.path.string(), {file.require_attestation, false, env.connect_uri},
                         options.autostart, run.dry_run() && run.pending()});
    if (l.waiting) run.log("    td: preflight waits for the steps above: " + *l.waiting);
    const auto& d = l.domain;
    if (d.insecure) run.log("WARNING: " + std::string(td::insecure_banner));
    *domain_name = d.name;
    *detail = {{"name", d.name}, {"topology_digest", d.topology_digest}, {"tdx", !d.insecure}};
    return std::move(l.plan);
  }});
  if (!report.stages.empty() && report.stages.back().name == "td") report.stages.back().detail = *detail;
  if (!ok) return report;

  attest_stage(env, file, options, *domain_name, run);
  return report;
}

} // namespace tdx::up
