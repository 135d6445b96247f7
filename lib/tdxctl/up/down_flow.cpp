// `tdxctl down`: the reverse of up, minus what must survive. The TD gets an
// ACPI shutdown and the timeout before it is destroyed (its disks are
// LUKS volumes: a clean shutdown is worth the wait); the network goes;
// GPUs stay on vfio-pci unless --release-gpus (a TD restart wants them
// there); volumes are never deleted, they hold the miner's state.
#include "tdxctl/up/flow.hpp"

#include "tdxctl/gpu/vfio_plan.hpp"
#include "tdxctl/net/recipes.hpp"
#include "tdxctl/td/lifecycle.hpp"
#include "tdxctl/up/stage.hpp"

namespace tdx::up {

FlowReport run_down(const FlowEnv& env, const HostFile& file, const DownOptions& options) {
  FlowReport report;
  report.schema = "tdxctl.down/1";
  report.dry_run = env.dry_run == core::DryRun::yes;
  StageRunner run(env, report);

  std::string name = file.td.name + (file.td.debug ? "-debug" : "");
  bool ok = run.run("td", {[&env, name, &options] {
    auto conn = td::Connection::open(env.connect_uri);
    auto dom = conn->lookup(name);
    if (!dom) {
      // Nothing to stop is the desired state, not an error: down is idempotent.
      core::Plan plan;
      plan.add({"td.shutdown", "libvirt", "domain " + name + " is not defined", core::Json{{"name", name}},
                [] { return true; }, {}, {}});
      return plan;
    }
    return td::plan_stop(conn, name, {options.timeout_s, true});
  }});
  if (!ok) return report;

  if (!file.network) {
    run.skip("network", "no network: section");
  } else {
    net::NetEnv net_env{env.root, env.probe, env.effects};
    if (!run.run("network", {[net_env] { return net::plan_down(net_env).plan; }})) return report;
  }

  if (!file.gpu) {
    run.skip("gpu", "no gpu: section");
  } else if (!options.release_gpus) {
    run.skip("gpu", "GPUs stay on vfio-pci (--release-gpus gives them back to their drivers)");
  } else {
    gpu::UnbindRequest req{file.gpu->devices, file.gpu->all, core::Force::no};
    if (!run.run("gpu", {[&env, req] { return core::value_or_throw(gpu::plan_unbind(env.root, req)).plan; }}))
      return report;
  }
  run.skip("volumes", "volumes are never deleted by down");
  return report;
}

} // namespace tdx::up
