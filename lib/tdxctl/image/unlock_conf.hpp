#pragma once
// The /etc/tdxctl/unlock.conf an image carries, rendered from image.yaml's
// unlock: section, and the build-time check that tdxctl-guest will accept it:
// the guest's own parser (unlock/unlock_config) reads the rendered text, so a
// value the initramfs would refuse at boot fails the build instead.

#include "tdxctl/image/image_config.hpp"

#include <map>
#include <string>

namespace tdx::image {

// Where the image keeps the unlock CA (image.yaml unlock.ca_cert).
inline constexpr const char* k_guest_unlock_ca = "/etc/tdxctl/unlock-ca.pem";

// The tdx-config volume: the label the premount script finds it by, and the
// private tmpfs directory it copies the bytes it checked against MRCONFIGID
// to. The booted system bind-mounts that copy, never the host's disk, which
// the host could rewrite after the check.
inline constexpr const char* k_config_label = "tdx-config";
inline constexpr const char* k_config_copy_dir = "/run/tdxctl/config";

// The values of the unlock templates (unlock.conf, initramfs hook, premount
// script); `volumes` name the encrypted containerd volume, if any.
std::map<std::string, std::string> unlock_template_values(const UnlockSettings& unlock,
                                                          const std::string& luks_uuid,
                                                          const std::vector<VolumeMount>& volumes);

// Renders unlock.conf and parses it as the guest does; Failure(invalid_input)
// naming image.yaml and the unlock.<key> the guest would refuse (or read back
// differently).
void check_unlock_conf(const ImageConfig& config, const std::string& luks_uuid);

} // namespace tdx::image
