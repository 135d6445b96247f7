// Validating unlock.conf with the guest's rules rather than a copy of them:
// each endpoint is rendered into the real template next to a known-good
// value for the other, so the error names the image.yaml key at fault; then
// the whole file must parse back to exactly the configured values.
#include "tdxctl/image/unlock_conf.hpp"

#include "tdxctl/image/templates.hpp"
#include "tdxctl/unlock/unlock_config.hpp"

namespace tdx::image {

using core::Category;
using core::Failure;

std::map<std::string, std::string> unlock_template_values(const UnlockSettings& unlock,
                                                          const std::string& luks_uuid,
                                                          const std::vector<VolumeMount>& volumes) {
  std::string disk, name;
  for (const auto& v : volumes)
    if (v.encrypted) disk = v.disk, name = v.label;
  return {{"luks_uuid", luks_uuid},
          {"containerd_disk", disk},
          {"containerd_name", name},
          {"nonce_endpoint", unlock.nonce_endpoint},
          {"attestation_endpoint", unlock.attestation_endpoint},
          {"ca_cert", unlock.ca_cert.empty() ? "" : k_guest_unlock_ca},
          {"retries", std::to_string(unlock.retries)},
          {"timeout_s", std::to_string(unlock.timeout_s)},
          {"insecure_sample_evidence", unlock.insecure_sample_evidence ? "1" : "0"},
          {"config_label", k_config_label},
          {"config_copy", k_config_copy_dir}};
}

namespace {

constexpr const char* k_origin = "unlock.conf";

// The image.yaml key whose value the guest reads back differently, or "".
std::string mismatch(const unlock::UnlockConfig& got, const UnlockSettings& want,
                     const std::string& luks_uuid, const std::vector<VolumeMount>& volumes) {
  for (const auto& v : volumes)
    if (v.encrypted && (got.containerd_disk != v.disk || got.containerd_name != v.label)) return "volumes";
  if (got.nonce_endpoint != want.nonce_endpoint) return "unlock.nonce_endpoint";
  if (got.api_endpoint != want.attestation_endpoint) return "unlock.attestation_endpoint";
  if (got.ca_cert != (want.ca_cert.empty() ? "" : k_guest_unlock_ca)) return "unlock.ca_cert";
  if (got.retries != want.retries) return "unlock.retries";
  if (got.timeout_s != want.timeout_s) return "unlock.timeout_s";
  if (got.insecure_sample_evidence != want.insecure_sample_evidence) return "unlock.insecure_sample_evidence";
  if (got.luks_uuid != luks_uuid) return "luks.uuid";
  return {};
}

[[noreturn]] void refuse(const ImageConfig& config, const std::string& key, const std::string& why) {
  throw Failure(Category::invalid_input, "image.unlock.guest_refuses",
                config.source.string() + ": key '" + key +
                    "': tdxctl-guest would refuse the unlock.conf built from it, and the image "
                    "could never unlock: " + why,
                "use a value the guest accepts (see tdxctl-unlock(1), FILES); an https:// URL "
                "without shell metacharacters such as & ; | < > or quotes");
}

} // namespace

void check_unlock_conf(const ImageConfig& config, const std::string& luks_uuid) {
  const auto& unlock = config.unlock;
  const std::string known_good = "https://localhost/";
  for (std::string key : {"unlock.nonce_endpoint", "unlock.attestation_endpoint"}) {
    UnlockSettings probe = unlock;
    (key == "unlock.nonce_endpoint" ? probe.attestation_endpoint : probe.nonce_endpoint) = known_good;
    auto text = render_template("unlock.conf", unlock_template_values(probe, luks_uuid, config.volumes));
    auto parsed = unlock::parse_unlock_config(text, k_origin);
    if (!parsed) refuse(config, key, parsed.error().message);
    if (mismatch(*parsed, probe, luks_uuid, config.volumes) == key)
      refuse(config, key, "the guest would read it back differently");
  }
  auto text = render_template("unlock.conf", unlock_template_values(unlock, luks_uuid, config.volumes));
  auto parsed = unlock::parse_unlock_config(text, k_origin);
  if (!parsed) refuse(config, "unlock", parsed.error().message);
  if (auto key = mismatch(*parsed, unlock, luks_uuid, config.volumes); !key.empty())
    refuse(config, key, "the guest would read it back differently");
}

} // namespace tdx::image
