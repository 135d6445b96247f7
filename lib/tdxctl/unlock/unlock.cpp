// The unlock sequence. Local preconditions (settings, identity, the LUKS
// device) are checked before any network traffic, so a misconfigured image
// fails with the real reason rather than after N key-service round trips.
#include "tdxctl/unlock/unlock.hpp"

#include "tdxctl/quote/generate.hpp"
#include "tdxctl/unlock/client_identity.hpp"
#include "tdxctl/unlock/run_files.hpp"
#include "tdxctl/unlock/vm_identity.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <ctime>

namespace tdx::unlock {

core::Json UnlockReport::to_json() const {
  core::Json attempts_json = core::Json::array();
  for (const auto& a : attempts) attempts_json.push_back(a.to_json());
  core::Json files_json = core::Json::array();
  for (const auto& f : files) files_json.push_back(f.string());
  return core::Json{{"changed", changed},
                    {"luks_uuid", luks_uuid},
                    {"name", name},
                    {"test_passphrase", test_passphrase},
                    {"config", config.to_json()},
                    {"luks", luks.to_json()},
                    {"containerd", containerd ? containerd->to_json() : core::Json()},
                    {"vm_name", vm_name},
                    {"miner_hotkey", miner_hotkey},
                    {"boot_token", boot_token},
                    {"containerd_key", containerd_key},
                    {"evidence", evidence},
                    {"attempts", attempts_json},
                    {"files", files_json}};
}

UnlockReport run_unlock(const core::Root& root, const UnlockRequest& r, core::ProcessRunner& runner) {
  auto config = core::value_or_throw(load_unlock_config(r.config_file));
  UnlockReport report;
  report.test_passphrase = r.test_passphrase;
  report.luks_uuid = r.luks_uuid.empty() ? config.luks_uuid : r.luks_uuid;
  report.name = r.name.empty() ? config.luks_name : r.name;
  if (report.luks_uuid.empty())
    throw core::Failure(core::Category::usage, "unlock.no_uuid",
                        "no LUKS UUID: pass --luks-uuid or set TDX_LUKS_UUID in " + r.config_file.string());
  core::value_or_throw(check_luks_uuid(report.luks_uuid));
  core::value_or_throw(check_mapper_name(report.name));

  // Before a byte of the volume is used: the host chose which disk to attach.
  auto binding = core::value_or_throw(verify_config_binding(root, r.config_dir, config.insecure_sample_evidence));
  // The identity comes from the bytes just checked, not from a second read
  // of the disk, which the host could have changed in between.
  auto identity = core::value_or_throw(vm_identity_from(binding));
  binding.checked.clear(); // the seed is not needed past this point
  report.config = std::move(binding);
  report.vm_name = identity.vm_name;
  report.miner_hotkey = identity.miner_hotkey;

  if (!r.test_passphrase && mapping_active(report.name)) {
    // A re-run after a successful unlock: nothing to fetch, nothing to change.
    spdlog::info("/dev/mapper/{} is already active; nothing to do", report.name);
    report.luks.already_active = true;
    return report;
  }
  core::value_or_throw(device_by_uuid(root, report.luks_uuid, r.device_wait));

  auto client = core::value_or_throw(make_client_identity(fmt::format("tdx-vm-{}", std::time(nullptr))));
  KeyReleaseRequest kr;
  kr.config = &config;
  kr.identity = &client;
  kr.vm_name = identity.vm_name;
  kr.miner_hotkey = identity.miner_hotkey;
  kr.sleep = r.sleep;
  kr.quote = [&root, entry = r.tsm_entry](std::span<const uint8_t, 64> rd) {
    return quote::generate_quote(root, rd, entry);
  };
  // Sample evidence needs both: an image built for tests without TDX, and a
  // kernel with no quote provider. A TD with configfs-tsm always sends a
  // quote, whatever the image says.
  kr.sample_evidence = config.insecure_sample_evidence && !quote::configfs_tsm_present(root);
  report.evidence = kr.sample_evidence ? "sample" : "quote";
  if (kr.sample_evidence)
    spdlog::warn("no configfs-tsm and unlock.conf sets TDX_INSECURE_SAMPLE_EVIDENCE=1: sending SAMPLE evidence, "
                 "which proves nothing (hardware-less testing only)");
  auto released = release_key(kr);
  if (!released) throw core::Failure(std::move(released.error().error));
  report.attempts = std::move(released->attempts);
  report.boot_token = released->boot_token.has_value();
  report.containerd_key = released->containerd_key.has_value();
  {
    LuksOpenRequest open{report.luks_uuid, report.name, r.test_passphrase, r.device_wait};
    auto opened = open_luks(root, open, released->key);
    released->key = core::Secret(); // wiped now, not at the end of the scope
    report.luks = core::value_or_throw(std::move(opened));
  }
  if (!config.containerd_disk.empty()) {
    // After the root: the image asked for this volume, so a release without
    // its key is a failure (the TD powers off) rather than a boot without it.
    if (!released->containerd_key)
      throw core::Failure(core::Category::failed, "unlock.no_containerd_key",
                          "the key service released no containerd_key, and this image encrypts the disk with serial " +
                              config.containerd_disk,
                          "register a containerd key for this VM with the key service");
    VolumeRequest volume{config.containerd_disk, config.containerd_name, r.device_wait, r.test_passphrase};
    auto opened = open_encrypted_volume(root, volume, *released->containerd_key, runner);
    released->containerd_key.reset();
    report.containerd = core::value_or_throw(std::move(opened));
  } else if (released->containerd_key) {
    spdlog::info("the key service released a containerd key; this image has no encrypted containerd volume");
    released->containerd_key.reset();
  }
  report.changed = report.luks.activated || (report.containerd && report.containerd->activated);
  report.files = write_run_files(root, identity.vm_name, identity.miner_hotkey, released->boot_token);
  return report;
}

} // namespace tdx::unlock
