// One pass over host.yaml: every section through its group's reader, then
// the cross-checks that only make sense with the whole file in view. Each
// problem is recorded at the key it is about, so the operator sees every
// line to fix at once (mold's "report all, then stop").
#include "tdxctl/up/host_file.hpp"

#include "tdxctl/config/host_yaml.hpp"
#include "tdxctl/config/yaml_reader.hpp"
#include "tdxctl/core/fs.hpp"
#include "tdxctl/policy/policy_file.hpp"
#include "tdxctl/quote/batch.hpp"
#include "tdxctl/up/cross_check.hpp"
#include "tdxctl/sysfs/pci.hpp"
#include "tdxctl/volume/cache_volume.hpp"

#include <algorithm>
#include <ostream>

namespace tdx::up {

namespace {

namespace fs = std::filesystem;

std::optional<GpuConfig> read_gpu(config::Section gpu) {
  if (!gpu.present()) return std::nullopt;
  gpu.allow_only(config::host_keys::gpu);
  GpuConfig out;
  auto devices = gpu.strings("devices");
  if (!devices || devices->empty()) {
    gpu.error(gpu.has("devices") ? "devices" : "",
              "gpu.devices is required: 'all' or a list of PCI addresses like 0000:18:00.0");
  } else if (devices->size() == 1 && (*devices)[0] == "all") {
    out.all = true;
  } else {
    for (const auto& d : *devices) {
      if (auto full = sysfs::normalize_pci_address(d)) {
        if (std::find(out.devices.begin(), out.devices.end(), *full) != out.devices.end())
          gpu.error("devices", *full + " is listed twice");
        else out.devices.push_back(*full);
      } else {
        gpu.error("devices", "expected 'all' or PCI addresses like 0000:18:00.0 (or 18:00.0), got '" + d + "'");
      }
    }
  }
  if (auto v = gpu.boolean("persist")) out.persist = *v;
  if (auto v = gpu.str("mode")) {
    if (*v == "ppcie") out.mode = GpuMode::ppcie;
    else if (*v == "cc") out.mode = GpuMode::cc;
    else if (*v == "off") out.mode = GpuMode::off;
    else gpu.error("mode", "expected ppcie (GPUs with NVSwitches), cc (GPUs without) or off, got '" + *v + "'");
  }
  // The key before gpu.mode existed: still read, so older files keep working.
  if (auto v = gpu.boolean("ppcie")) {
    if (gpu.has("mode"))
      gpu.error("ppcie", "gpu.ppcie is the older spelling of gpu.mode: ppcie; give only gpu.mode");
    else if (*v) out.mode = GpuMode::ppcie;
  }
  if (auto v = gpu.str("admin_tool")) out.admin_tool = *v;
  return out;
}

void read_volumes(config::Section volumes, VolumesConfig& out) {
  volumes.allow_only(config::host_keys::volumes);
  if (auto v = volumes.str("format")) {
    if (*v == "qcow2") out.format = volume::VolumeFormat::qcow2;
    else if (*v == "raw") out.format = volume::VolumeFormat::raw;
    else volumes.error("format", "expected qcow2 or raw, got '" + *v + "'");
  }
  for (auto [key, field] : {std::pair{"cache_size", &out.cache_size},
                            std::pair{"containerd_size", &out.containerd_size}}) {
    auto v = volumes.str(key);
    if (!v) continue;
    if (auto size = volume::parse_size(*v); !size) volumes.error(key, size.error().message);
    else *field = *v;
  }
}

std::optional<AttestConfig> read_attest(config::Section attest) {
  if (!attest.present()) return std::nullopt;
  attest.allow_only(config::host_keys::attest);
  AttestConfig out;
  auto& verify = out.verify;
  if (auto v = attest.str("collateral")) verify.collateral = *v;
  else attest.error("", "attest.collateral is required: the directory `tdxctl collateral fetch` filled");
  if (auto v = attest.str("policy")) verify.policy = *v;
  if (auto v = attest.strings("accept")) {
    if (auto bad = quote::unknown_tcb_status(*v); !bad.empty()) attest.error("accept", bad);
    verify.accept = *v;
  }
  if (auto v = attest.boolean("allow_debug")) verify.allow_debug = *v;
  if (auto v = attest.integer("port", 1, 0xffffffff)) out.port = static_cast<uint32_t>(*v);
  if (auto v = attest.str("unix")) out.unix_socket = *v;
  if (auto v = attest.integer("timeout", 0, 86400)) out.timeout_s = static_cast<int>(*v);
  if (auto v = attest.str("at")) {
    if (auto t = quote::parse_verify_time(*v); !t) attest.error("at", t.error().message);
    else verify.at = *v;
  }
  if (auto v = attest.str("trust_root")) verify.trust_root = *v;
  return out;
}

// The files attest: names must be there to read; checked once their paths
// are absolute.
void check_attest_files(const AttestConfig& out, config::Section attest) {
  const auto& verify = out.verify;
  std::error_code ec; // a name too long for the kernel is "not a directory", not an exception
  if (!verify.collateral.empty() && !fs::is_directory(verify.collateral, ec))
    attest.error("collateral", verify.collateral + " is not a directory (fill it with `tdxctl collateral fetch`)");
  if (!verify.policy.empty()) {
    try {
      policy::load_policy(verify.policy);
    } catch (const core::Failure& f) {
      attest.error("policy", f.error().message);
    }
  }
}

// Every path the file names, made absolute against its directory in this
// one place, so a host.yaml and the files it names can move together.
void make_paths_absolute(HostFile& file, const fs::path& base_dir) {
  if (file.gpu) file.gpu->admin_tool = config::absolute_path(file.gpu->admin_tool, base_dir);
  if (file.config && file.config->seed_file != "-") // "-": stdin
    file.config->seed_file = config::absolute_path(file.config->seed_file, base_dir);
  td::make_paths_absolute(file.td, base_dir);
  if (file.attest)
    for (auto* p : {&file.attest->verify.collateral, &file.attest->verify.policy, &file.attest->unix_socket,
                    &file.attest->verify.trust_root})
      *p = config::absolute_path(*p, base_dir);
}

// What the command reading the file cannot do without, reported with the
// file's other problems.
void check_needs(const HostFile& file, config::Section& root, HostFileUse use) {
  bool needs_td = use == HostFileUse::host_flow || use == HostFileUse::td;
  if (needs_td && !root.has("td")) root.error("td", "a 'td:' section is required (at least td.image)");
  if (use == HostFileUse::config_volume && !file.config)
    root.error("config", "no 'config:' section (the tdx-config volume's values)");
  // `up` takes the parent from the default route when net up resolves it;
  // a TD launched alone has no such step.
  if (use == HostFileUse::td && file.network && file.network->mode == net::Mode::macvtap &&
      file.network->public_interface.empty())
    root.section("network").error("public_interface",
                                  "a macvtap TD needs the parent device named here "
                                  "(td launch does not guess the default route)");
}

} // namespace

const char* gpu_mode_name(GpuMode mode) {
  switch (mode) {
  case GpuMode::ppcie: return "ppcie";
  case GpuMode::cc: return "cc";
  case GpuMode::off: return "off";
  }
  return "off";
}

HostFile parse_host_file(std::string_view text, const std::string& name,
                         const fs::path& base_dir, HostFileUse use) {
  auto reader = config::YamlReader::parse(text, name);
  auto root = reader.root();
  root.allow_only(config::k_host_yaml_sections);
  HostFile out;
  out.path = name;

  auto host = root.section("host");
  host.allow_only(config::host_keys::host);
  if (auto v = host.boolean("require_attestation")) out.require_attestation = *v;

  out.gpu = read_gpu(root.section("gpu"));

  auto config = root.section("config");
  if (config.present()) {
    volume::ConfigInput input;
    volume::read_config_section(config, input);
    out.config = input;
  }
  read_volumes(root.section("volumes"), out.volumes);

  auto network = root.section("network");
  if (network.present()) {
    net::NetRequest request;
    net::read_network_section(network, request);
    out.network = request;
  }

  auto td = root.section("td");
  td::read_td_section(td, out.td, network.present());
  if (out.network) td::attach_to_network(out.td, *out.network);

  out.attest = read_attest(root.section("attest"));
  make_paths_absolute(out, base_dir);
  if (out.attest) check_attest_files(*out.attest, root.section("attest"));

  // Cross-checks run even after per-key errors, so one pass shows every
  // problem; each skips values that did not parse (reported already).
  check_needs(out, root, use);
  cross_check(out, root);
  reader.check();
  return out;
}

HostFile load_host_file(const fs::path& path, HostFileUse use) {
  auto text = core::read_file(path);
  if (!text)
    throw core::Failure(core::Category::invalid_input, "config.unreadable", text.error().message,
                        "pass the host.yaml to use with -c/--config, or write one with "
                        "`tdxctl config init`");
  return parse_host_file(*text, path.string(), fs::absolute(path).parent_path(), use);
}

td::TdSpec load_td_spec(const fs::path& config, const td::SpecOverrides& flags) {
  return td::make_spec(flags, config.empty() ? td::TdSpec{} : load_host_file(config, HostFileUse::td).td);
}

} // namespace tdx::up

namespace tdx::up {

core::Json HostFile::summary() const {
  core::Json j{{"file", path.string()}};
  if (gpu) j["gpu"] = {{"devices", gpu->all ? core::Json("all") : core::Json(gpu->devices)},
                       {"persist", gpu->persist},
                       {"mode", gpu->mode ? core::Json(gpu_mode_name(*gpu->mode)) : core::Json()}};
  core::Json vols = core::Json::object();
  if (!td.config_volume.empty())
    vols["config"] = {{"path", td.config_volume}, {"create", config.has_value()}};
  if (!td.cache_volume.empty())
    vols["cache"] = {{"path", td.cache_volume}, {"size", volumes.cache_size.empty() ? volume::k_cache_default_size : volumes.cache_size}};
  if (!td.containerd_volume.empty())
    vols["containerd"] = {{"path", td.containerd_volume},
                          {"size", volumes.containerd_size.empty() ? volume::k_containerd_default_size : volumes.containerd_size}};
  j["volumes"] = vols;
  if (network) {
    j["network"] = {{"mode", net::mode_name(network->mode)}};
    if (network->mode == net::Mode::bridge) {
      j["network"]["bridge"] = network->bridge;
      j["network"]["bridge_address"] = network->bridge_address;
      j["network"]["vm_address"] = network->vm_address;
      j["network"]["forwards"] = network->forwards;
    }
    j["network"]["public_interface"] = network->public_interface.empty() ? core::Json("(default route)")
                                                                         : core::Json(network->public_interface);
  }
  j["td"] = {{"name", td.name}, {"vcpus", td.vcpus}, {"memory_gib", td.memory_gib},
             {"image", td.image}, {"gpus", td.gpus}, {"nic", net::mode_name(td.net.mode)},
             {"tdx", !td.no_tdx}};
  j["attest"] = attest.has_value();
  return j;
}

void HostFile::print_summary(std::ostream& out) const {
  auto j = summary();
  out << path.string() << ": OK\n";
  if (gpu)
    out << "  gpu:      " << (gpu->all ? std::string("all NVIDIA GPUs and NVSwitches")
                                       : std::to_string(gpu->devices.size()) + " device(s)")
        << " to vfio-pci"
        << (!gpu->mode ? "" : *gpu->mode == GpuMode::ppcie ? ", PPCIe on" : *gpu->mode == GpuMode::cc ? ", CC on" : ", CC and PPCIe off")
        << (gpu->persist ? ", persistent" : "") << "\n";
  else out << "  gpu:      (none configured)\n";
  for (auto it = j["volumes"].begin(); it != j["volumes"].end(); ++it)
    out << "  volume:   " << it.key() << " " << it.value()["path"].get<std::string>()
        << (it.value().contains("size") ? " (" + it.value()["size"].get<std::string>() + ")" : "")
        << (it.key() == "config" && !config ? " (must exist: no config: section)" : "") << "\n";
  if (network && network->mode == net::Mode::bridge)
    out << "  network:  bridge " << network->bridge << " " << network->bridge_address << ", TD "
        << network->vm_address << ", forwards " << j["network"]["forwards"].size() << "\n";
  else if (network)
    out << "  network:  macvtap on " << j["network"]["public_interface"].get<std::string>() << "\n";
  else out << "  network:  (none configured)\n";
  out << "  td:       " << td.name << ", " << td.vcpus << " vCPUs, " << td.memory_gib << " GiB, "
      << td.image << (td.no_tdx ? " [INSECURE no_tdx]" : "") << "\n";
  out << "  attest:   " << (attest ? "configured (tdxctl up --attest)" : "not configured") << "\n";
}

} // namespace tdx::up
