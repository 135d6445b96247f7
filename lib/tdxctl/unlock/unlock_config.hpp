#pragma once
// /etc/tdxctl/unlock.conf: the key-release settings `tdxctl image build`
// bakes into the initramfs. It is shell KEY=VALUE (so a shell script can
// source it, as the first premount script did), parsed here strictly: unknown or repeated keys, non-https
// endpoints and out-of-range numbers are errors naming file:line, because a
// mistake here only shows up as a TD that powers itself off at boot.

#include "tdxctl/core/error.hpp"

#include <filesystem>
#include <string>
#include <string_view>

namespace tdx::unlock {

struct UnlockConfig {
  std::string nonce_endpoint; // TDX_NONCE_ENDPOINT, https://
  std::string api_endpoint;   // TDX_API_ENDPOINT, https://
  std::string ca_cert;        // TDX_CA_CERT: PEM bundle; empty = the system store
  int retries = 3;            // TDX_RETRY_COUNT, 1..100
  int timeout_s = 30;         // TDX_TIMEOUT, seconds per request, 1..3600
  std::string luks_uuid;      // TDX_LUKS_UUID (optional; --luks-uuid wins)
  std::string luks_name = "root"; // TDX_LUKS_NAME, the /dev/mapper name
  // TDX_INSECURE_SAMPLE_EVIDENCE=1: when configfs-tsm is absent (no TDX),
  // send "sample" evidence (the nonce || SPKI binding, no quote) instead of
  // failing. Only for hardware-less tests against `keys serve
  // --insecure-accept-sample`; image.yaml unlock.insecure_sample_evidence.
  bool insecure_sample_evidence = false;
  // TDX_CONTAINERD_DISK: the serial of the disk the TD encrypts with the
  // released containerd key (td-containerd); empty: the image has none.
  std::string containerd_disk;
  std::string containerd_name = "containerd"; // TDX_CONTAINERD_NAME, its /dev/mapper name
};

inline constexpr int k_max_retries = 100;
inline constexpr int k_max_timeout_s = 3600; // as image.yaml allows

// Parses the text of an unlock.conf; `origin` names it in errors.
core::Result<UnlockConfig> parse_unlock_config(std::string_view text, std::string_view origin);
core::Result<UnlockConfig> load_unlock_config(const std::filesystem::path& path);

// Checks shared with the command line: https URL with a host, canonical UUID,
// a device-mapper name.
core::Result<void> check_https_url(std::string_view url);
core::Result<void> check_luks_uuid(std::string_view uuid);
core::Result<void> check_mapper_name(std::string_view name);

} // namespace tdx::unlock
