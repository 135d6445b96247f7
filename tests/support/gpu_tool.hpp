#pragma once
// The nvidia_gpu_tools.py test double (tests/gpu/nvidia_gpu_tools.py) set up
// for the HGX fixture: installed into a directory with every device in a
// given mode, and the log of its invocations read back. Header-only, like
// gpu_hgx.hpp, for the unit and integration tests that switch modes.

#include "support/gpu_hgx.hpp"
#include "tdxctl/core/progress.hpp"
#include "tdxctl/gpu/vfio_plan.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace tdx::test::hgx {

// Copies the double into `dir` with every HGX GPU in CC mode `cc` and every
// device in PPCIe mode `ppcie`; returns the script's path.
inline fs::path install_fake_tool(const fs::path& dir, const std::string& cc,
                                  const std::string& ppcie) {
  fs::create_directories(dir);
  fs::copy_file(tests_dir() / "gpu/nvidia_gpu_tools.py", dir / "nvidia_gpu_tools.py");
  nlohmann::json state;
  for (const auto& g : gpus) state[g] = {{"kind", "gpu"}, {"cc", cc}, {"ppcie", ppcie}};
  for (const auto& s : nvswitches) state[s] = {{"kind", "nvswitch"}, {"ppcie", ppcie}};
  std::ofstream(dir / "state.json") << state.dump();
  return dir / "nvidia_gpu_tools.py";
}

// The double's state.json as it is now.
inline nlohmann::json tool_state(const fs::path& dir) {
  return nlohmann::json::parse(slurp(dir / "state.json"));
}

// Every invocation's arguments, in order.
inline std::vector<nlohmann::json> tool_calls(const fs::path& dir) {
  std::vector<nlohmann::json> out;
  std::ifstream in(dir / "calls.log");
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

// Only the switches (--set-*), without the queries between them.
inline std::vector<nlohmann::json> tool_switches(const fs::path& dir) {
  std::vector<nlohmann::json> out;
  for (auto& c : tool_calls(dir))
    if (c.dump().find("--set-") != std::string::npos) out.push_back(c);
  return out;
}

// Binds every GPU and NVSwitch to vfio-pci (the admin tool refuses devices
// on the NVIDIA drivers), with the kernel emulated while it runs.
inline void bind_all(const fs::path& root) {
  core::RecordingRunner runner;
  KernelEmulator kernel(root);
  gpu::BindRequest req;
  req.all = true;
  auto plan = core::value_or_throw(gpu::plan_bind(core::Root(root), runner, req));
  core::NullProgress progress;
  plan.plan.apply(core::DryRun::no, progress);
}

} // namespace tdx::test::hgx
