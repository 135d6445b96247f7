#pragma once
// NVIDIA's gpu-admin-tools (nvidia_gpu_tools.py, also shipped in nvtrust's
// host_tools/python): how tdxctl finds it, runs it through the ProcessRunner
// and reads the modes out of its log lines.

#include "tdxctl/core/error.hpp"
#include "tdxctl/core/runner.hpp"
#include "tdxctl/gpu/inventory.hpp"

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tdx::gpu {

inline constexpr const char* admin_tool_url = "https://github.com/NVIDIA/gpu-admin-tools";
inline constexpr const char* admin_tool_env = "TDXCTL_GPU_ADMIN_TOOL";

struct AdminTool {
  std::filesystem::path script; // nvidia_gpu_tools.py
  // argv prefix: the tool is a Python script, run with python3 as NVIDIA documents.
  std::vector<std::string> argv(const std::vector<std::string>& args) const;
};

// From --admin-tool PATH (a file, or a directory holding nvidia_gpu_tools.py),
// else $TDXCTL_GPU_ADMIN_TOOL, else the usual install locations. Error
// (not_ready, exit 3) naming where to get it when none is found.
core::Result<AdminTool> find_admin_tool(const std::string& option);

// "GPU 0000:18:00.0 H100-SXM ... CC mode is on", "NvSwitch ... PPCIe mode is off":
// the modes per full BDF found in the tool's output (stdout and stderr).
std::map<std::string, Modes> parse_modes(const std::string& output);

// Runs --query-cc-mode (GPUs) and --query-ppcie-mode for one device.
Modes query_modes(core::ProcessRunner& runner, const AdminTool& tool, const GpuDevice& device);

} // namespace tdx::gpu
