// bind --persist files. The per-device udev rule is what driverctl does, but
// written by us so that `gpu unbind` also removes it (unbind.sh left
// driverctl overrides behind, and the GPUs went back to vfio-pci at the next
// boot: EXISTING-SCRIPTS §2.3). Files are replaced atomically; the previous
// content is kept in memory for rollback.
#include "tdxctl/gpu/persist.hpp"

#include "tdxctl/core/fs.hpp"
#include "tdxctl/core/templates.hpp"

#include <algorithm>
#include <cstdlib>
#include <regex>

namespace tdx::gpu {

namespace fs = std::filesystem;
using core::Category;
using core::Failure;

std::vector<std::string> persisted_addresses(const core::Root& root) {
  std::vector<std::string> out;
  auto text = root.read(persist_rules_path);
  if (!text) return out;
  static const std::regex kernel(R"re(KERNEL=="([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7])")re");
  for (std::sregex_iterator it(text->begin(), text->end(), kernel), end; it != end; ++it)
    out.push_back((*it)[1]);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// A step that makes `path` hold `content` (nullopt: absent).
static core::Step file_step(const core::Root& root, const std::string& id, const std::string& path,
                            std::optional<std::string> content) {
  auto previous = root.read(path);
  core::Step step;
  step.id = id;
  step.kind = "file";
  step.summary = content ? "write " + path : "remove " + path;
  step.detail = {{"path", path}, {"content", content ? core::Json(*content) : core::Json()}};
  step.is_done = [root, path, content] { return root.read(path) == content; };
  auto put = [root, path](const std::optional<std::string>& text) {
    auto host = root.path(path);
    if (!text) {
      std::error_code ec;
      fs::remove(host, ec);
      if (ec) throw Failure(Category::failed, "file.remove", "cannot remove " + path + ": " + ec.message());
      return;
    }
    std::error_code ec;
    fs::create_directories(host.parent_path(), ec);
    core::write_file_atomic(host, *text, 0644, core::Force::yes);
  };
  step.apply = [put, content] { put(content); };
  step.undo = [put, previous] { put(previous); };
  return step;
}

std::vector<core::Step> persist_steps(const core::Root& root,
                                      const std::vector<std::string>& addresses) {
  std::vector<core::Step> steps;
  if (addresses.empty()) {
    steps.push_back(file_step(root, "persist.rules", persist_rules_path, std::nullopt));
    steps.push_back(file_step(root, "persist.modprobe", persist_modprobe_path, std::nullopt));
    return steps;
  }
  core::Json devices = core::Json::array();
  for (const auto& a : addresses) devices.push_back({{"address", a}});
  steps.push_back(file_step(root, "persist.rules", persist_rules_path,
                            core::render_template("gpu/70-tdxctl-vfio-pci.rules.mustache",
                                            {{"devices", devices}})));
  steps.push_back(file_step(root, "persist.modprobe", persist_modprobe_path,
                            core::render_template("gpu/tdxctl-vfio-pci.conf.mustache", core::Json::object())));
  steps.push_back(file_step(root, "persist.kvm_rules", kvm_rules_path,
                            core::render_template("gpu/60-tdxctl-vfio-kvm.rules.mustache", core::Json::object())));
  return steps;
}

} // namespace tdx::gpu
