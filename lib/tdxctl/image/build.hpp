#pragma once
// tdxctl image build: base qcow2 + image.yaml -> LUKS2-rooted TD image,
// as a core::Plan of stages (see build.cpp for the order and why).

#include "tdxctl/core/fs.hpp"
#include "tdxctl/core/plan.hpp"
#include "tdxctl/core/progress.hpp"
#include "tdxctl/core/runner.hpp"
#include "tdxctl/image/image_config.hpp"
#include "tdxctl/image/luks_writer.hpp"

#include <filesystem>
#include <memory>
#include <optional>
#include <string_view>

namespace tdx::image {

struct BuildRequest {
  ImageConfig config;
  std::filesystem::path output;                     // final .qcow2 (config.output unless overridden)
  std::optional<std::filesystem::path> key_file;    // unlock key; else a fresh one in OUTPUT.key
  std::optional<std::filesystem::path> recovery_file; // optional recovery passphrase
  std::filesystem::path build_dir;                  // parent of the private work dir; default: the output's
  std::filesystem::path tdxctl_binary = "/proc/self/exe"; // tdxctl-guest is looked up beside it
  // The guest-slice binary the initramfs runs (/usr/sbin/tdxctl-guest); empty:
  // next to tdxctl_binary, else ../libexec/tdxctl/ from it (the DEB layout).
  std::filesystem::path guest_binary;
  Argon2Cost unlock_cost;
  // The LUKS volume key, salts and stripes derived from the unlock key, so
  // the same inputs and key give a byte-identical image (needs a fixed
  // argon2 cost: unlock_cost.iterations > 0).
  bool reproducible = false;
  core::Force force = core::Force::no;
};

// Where tdxctl-guest is for a tdxctl binary (see BuildRequest::guest_binary).
std::optional<std::filesystem::path> find_guest_binary(const std::filesystem::path& tdxctl_binary);

struct BuildState; // shared between the plan's steps

struct StageTiming {
  std::string stage; // the plan step's id
  double seconds = 0;
};

struct BuildPlan {
  core::Plan plan;
  std::shared_ptr<BuildState> state;
  std::string inputs_digest;
  std::string luks_uuid, root_fs_uuid, kernel_cmdline;
  bool up_to_date = false; // the output exists and was built from the same inputs
  core::Json manifest() const; // after apply (or the existing one when up to date)
  const std::vector<StageTiming>& timings() const; // the stages applied, in order
};

// Validates everything that can fail before output appears (base checksum,
// existing output, key file, templates) and returns the stages to run.
BuildPlan make_build_plan(const BuildRequest& request, core::ProcessRunner& runner,
                          core::ProgressSink& progress);

// The old manifest (OUTPUT.manifest.json's text) when it records a build
// of the same inputs, measure: section and --reproducible: the output is
// up to date. nullopt for anything else, unparsable text included.
std::optional<core::Json> up_to_date_manifest(std::string_view manifest, const std::string& inputs_digest,
                                              const std::string& measure_digest, bool reproducible);

// The kernel command line the image boots with (fixed by the config).
std::string kernel_cmdline_for(const ImageConfig& config);

// A name-based UUID (the version 5 layout over SHA-256) from a digest and a purpose.
std::string derive_uuid(const std::string& digest_hex, const std::string& purpose);

// Streaming SHA-256 / SHA-384 of a file, lowercase hex.
core::Result<std::string> file_digest(const std::filesystem::path& path, const char* algorithm);

} // namespace tdx::image
