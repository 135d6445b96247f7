// Driving nvidia_gpu_tools.py. The tool logs through Python's logging
// (stderr) with lines like "<time> INFO     GPU 0000:45:00.0 H100-PCIE 0x2331
// BAR0 0x... CC mode is on", and prints its banner and topology to stdout;
// both streams are parsed. tdxctl never clones the tool at run time (the old
// setup-gpus.sh did, into the caller's CWD): the operator installs it.
#include "tdxctl/gpu/admin_tool.hpp"

#include <cctype>
#include <cstdlib>
#include <regex>

namespace tdx::gpu {

namespace fs = std::filesystem;
using core::Category;

std::vector<std::string> AdminTool::argv(const std::vector<std::string>& args) const {
  std::vector<std::string> out{"python3", script.string()};
  out.insert(out.end(), args.begin(), args.end());
  return out;
}

static std::optional<fs::path> as_tool(const fs::path& p) {
  std::error_code ec;
  if (fs::is_directory(p, ec)) {
    for (const auto* rel : {"nvidia_gpu_tools.py", "host_tools/python/nvidia_gpu_tools.py"})
      if (fs::is_regular_file(p / rel, ec)) return p / rel;
    return std::nullopt;
  }
  if (fs::is_regular_file(p, ec)) return p;
  return std::nullopt;
}

core::Result<AdminTool> find_admin_tool(const std::string& option) {
  std::string hint = std::string("get nvidia_gpu_tools.py from ") + admin_tool_url +
                     " (or nvtrust's host_tools/python) and pass --admin-tool PATH or set " +
                     admin_tool_env;
  if (!option.empty()) {
    if (auto p = as_tool(option)) return AdminTool{fs::absolute(*p)};
    return core::fail(Category::not_ready, "gpu.admin_tool_missing",
                      "--admin-tool " + option + ": no nvidia_gpu_tools.py there", hint);
  }
  if (const char* env = std::getenv(admin_tool_env); env && *env) {
    if (auto p = as_tool(env)) return AdminTool{fs::absolute(*p)};
    return core::fail(Category::not_ready, "gpu.admin_tool_missing",
                      std::string(admin_tool_env) + "=" + env + ": no nvidia_gpu_tools.py there",
                      hint);
  }
  for (const auto* dir : {"/usr/local/share/gpu-admin-tools", "/opt/nvidia/gpu-admin-tools",
                          "/usr/share/tdxctl/gpu-admin-tools"})
    if (auto p = as_tool(dir)) return AdminTool{*p};
  return core::fail(Category::not_ready, "gpu.admin_tool_missing",
                    "NVIDIA's nvidia_gpu_tools.py (gpu-admin-tools) is not installed", hint);
}

std::map<std::string, Modes> parse_modes(const std::string& output) {
  // The device as the tool prints it starts with its kind and full BDF.
  static const std::regex line(
      R"re((?:GPU|NvSwitch)\s+([0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7])\b[^\n]*?\b(CC|PPCIe) mode is ([a-z]+))re");
  std::map<std::string, Modes> out;
  for (std::sregex_iterator it(output.begin(), output.end(), line), end; it != end; ++it) {
    std::string bdf = (*it)[1];
    for (auto& c : bdf) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto& m = out[bdf];
    if ((*it)[2] == "CC") m.cc = (*it)[3];
    else m.ppcie = (*it)[3];
  }
  return out;
}

Modes query_modes(core::ProcessRunner& runner, const AdminTool& tool, const GpuDevice& device) {
  if (device.pci.driver == "nvidia" || device.pci.driver == "nvidia-nvswitch")
    return Modes{{}, {}, "bound to " + device.pci.driver + ": bind it to vfio-pci to query modes"};
  std::vector<std::string> args{"--gpu-bdf=" + device.pci.address};
  if (device.kind == Kind::gpu) args.push_back("--query-cc-mode");
  args.push_back("--query-ppcie-mode");
  core::Command cmd{tool.argv(args)};
  cmd.timeout = std::chrono::minutes(2);
  auto done = runner.run(cmd);
  if (!done) return Modes{{}, {}, done.error().message};
  auto modes = parse_modes(done->out + "\n" + done->err);
  auto it = modes.find(device.pci.address);
  Modes m = it == modes.end() ? Modes{} : it->second;
  if (!done->ok() || (m.cc.empty() && m.ppcie.empty())) {
    auto err = core::trim(done->err);
    auto nl = err.rfind('\n');
    m.note = "nvidia_gpu_tools.py " +
             (done->ok() ? std::string("reported no mode") : "exited with status " + std::to_string(done->exit_status)) +
             (err.empty() ? "" : ": " + (nl == std::string::npos ? err : err.substr(nl + 1)));
  }
  return m;
}

} // namespace tdx::gpu
