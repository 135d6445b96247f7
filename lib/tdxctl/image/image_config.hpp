#pragma once
// image.yaml: what `tdxctl image build` makes (see tdxctl-image(1)).

#include "tdxctl/core/output.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace tdx::image {

struct FileCopy {
  std::filesystem::path source; // on the build host, relative to image.yaml
  std::string dest;             // absolute path in the guest
  std::string owner = "root:root";
  int mode = 0644;
};

struct VolumeMount {
  std::string label; // filesystem label the host gives the volume; encrypted: the /dev/mapper name
  std::string mount; // where the guest mounts it
  // Encrypted by the guest with the key service's containerd key: the disk
  // is found by the serial the host gives it (the domain's <serial>), never
  // by a label, and formatted on first use only when blank (tdxctl-unlock(1)).
  std::string disk;
  bool encrypted = false;
};

struct UnlockSettings {
  std::string nonce_endpoint;       // https:// URL
  std::string attestation_endpoint; // https:// URL
  std::filesystem::path ca_cert;    // PEM, for TLS to both endpoints; required unless...
  bool trust_system_cas = false;    // ...this explicit opt-out: the guest trusts every public CA
  int retries = 3;
  int timeout_s = 30;
  // unlock.conf TDX_INSECURE_SAMPLE_EVIDENCE: tests without TDX only.
  bool insecure_sample_evidence = false;
};

// image.yaml measure: the firmware and launch shape the image will boot
// with, so `image build` writes OUTPUT.measure.json (MRTD, RTMR0-3 and the
// events, as `image measure -o json` prints them) from the very kernel,
// initrd and command line it wrote.
struct MeasureShape {
  std::filesystem::path firmware;
  int memory_gib = 0;
  std::filesystem::path platform, acpi_tables; // at most one; empty: none (RTMR0 unknown)
  core::Json to_json() const;
};

struct ImageConfig {
  std::filesystem::path source; // the image.yaml itself
  std::filesystem::path base;
  std::string base_sha256;      // lowercase hex
  std::filesystem::path output; // .qcow2
  uint64_t root_size = 0;       // bytes of root filesystem; 0: the base root's size
  bool compress = false;
  std::string hostname;
  std::string kernel_cmdline;   // extra arguments after root=/cryptdevice ones
  std::optional<std::string> luks_uuid;    // fixed; else derived from the inputs digest
  std::optional<std::string> root_fs_uuid; // fixed; else derived from the inputs digest
  std::string luks_label = "tdx-root";
  std::vector<FileCopy> files;
  std::vector<std::string> commands;
  std::vector<std::filesystem::path> debs;
  std::vector<std::string> enable_units, disable_units, lock_users;
  bool customise_network = false; // customize.network: the namespace shares the host's network
  // Every timestamp in the built filesystems, and the initramfs's, is at most
  // this; unset: derived from the base (its root filesystem's newest mtime).
  std::optional<int64_t> source_date_epoch;
  bool disable_cloud_init = true, disable_getty = true, disable_ssh_password = true,
       module_sig_enforce = true;
  std::vector<VolumeMount> volumes;
  UnlockSettings unlock;
  std::optional<MeasureShape> measure;

  core::Json to_json() const;
};

// Parses and validates image.yaml, collecting every error with file:line:col
// and the dotted key; Failure(invalid_input) if any.
ImageConfig load_image_config(const std::filesystem::path& path);
ImageConfig parse_image_config(std::string_view text, const std::filesystem::path& name);

// customize.files[].mode: octal, the whole text, 0 to 07777 ("0644", "4755");
// nullopt for anything else.
std::optional<int> parse_file_mode(const std::string& text);

} // namespace tdx::image
