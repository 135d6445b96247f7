#pragma once
// The customisation of the unpacked root, as it runs inside the build
// namespace (build_namespace.hpp): the base's own dpkg, systemctl, usermod and
// update-initramfs, executed natively. Everything that needs the host
// (templates, operator files, tdxctl-guest and its libraries) is prepared
// before: rendered into GuestFile contents, or staged in a directory the
// namespace sees read-only at input_dir.

#include "tdxctl/image/image_config.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tdx::image {

struct GuestFile {
  std::string path; // absolute, in the image
  std::string content;
  int mode = 0644;
};

struct CustomiseSpec {
  std::string input_dir = "/run/tdxctl-input";
  std::string base_name;           // the base image, for messages
  std::vector<FileCopy> files;     // source: relative to input_dir
  std::vector<std::string> debs;   // relative to input_dir
  std::vector<std::string> commands, enable_units, disable_units, lock_users;
  bool mask_gettys = false;
  std::vector<GuestFile> generated; // hardening, unlock path, units, cmdline
  std::vector<std::string> dirs;    // volume mount points
  std::vector<std::pair<std::string, std::string>> links; // {target, link}
  std::string guest_binary;                 // relative to input_dir
  std::vector<std::string> guest_libs;      // relative to input_dir
};

// /etc/fstab with every root entry (a line whose second field is "/", not
// a comment) replaced by the LUKS root's, each line ending in a newline;
// nullopt when the base has no root entry to replace.
std::optional<std::string> rewrite_fstab_root(std::string_view fstab);

// Runs in the namespace: operator files, packages, commands, units, user
// locks; then the generated files, tdxctl-guest, fstab's root entry, and
// update-initramfs (and update-grub where the image has it). Failure naming
// the step and the guest's output when one fails.
void customise_tree(const CustomiseSpec& spec);

} // namespace tdx::image
