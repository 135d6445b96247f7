// Creating the tdx-config volume without root, NBD or mounts: the files are
// written into a private 0700 staging directory in memory (tmpfs), mke2fs -d
// copies them into a filesystem image (removing the staging copy right
// after), debugfs makes them root-owned (mke2fs copies our uid, and a guest
// user with that uid could otherwise read the seed), and qemu-img converts to
// qcow2. The result is renamed into place only when complete, mode 0600.
#include "tdxctl/volume/config_volume.hpp"

#include "tdxctl/core/disk_image.hpp"
#include "tdxctl/core/hex.hpp"
#include "tdxctl/core/templates.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tdx::volume {

namespace fs = std::filesystem;
using core::Category;
using core::Failure;

std::string render_netplan(const ConfigValues& values) {
  return core::render_template("network-config.yaml.mustache",
                               {{"address", values.vm_ip.address},
                                {"prefix", std::to_string(values.vm_ip.prefix)},
                                {"gateway", values.gateway},
                                {"dns", values.dns}});
}

std::vector<ConfigFile> render_config_files(const ConfigValues& values) {
  std::vector<ConfigFile> files;
  // Each value ends in '\n', as create-config.sh's echo wrote them.
  files.push_back({"hostname", 0644, core::Secret(values.hostname + "\n"), false});
  files.push_back({"miner-ss58", 0600, core::Secret::concat({values.miner_ss58, "\n"}), true});
  files.push_back({"miner-seed", 0600, core::Secret::concat({values.miner_seed.reveal(), "\n"}), true});
  files.push_back({"network-config.yaml", 0644, core::Secret(render_netplan(values)), false});
  return files;
}

fs::path digest_path(const fs::path& output) { return fs::path(output.string() + ".sha384"); }

std::string digest_line(const std::string& digest, const fs::path& output) {
  return digest + "  " + output.filename().string() + "\n";
}

namespace {

// State shared by the steps of one creation; dropped (and cleaned) with the
// plan. Both directories are removed with their content on destruction and
// on a signal or crash (core::TempDir).
struct ConfigBuild {
  std::vector<ConfigFile> files;
  std::optional<core::TempDir> work;    // next to the output: the filesystem image
  std::optional<core::TempDir> staging; // the files mke2fs copies in, in memory where possible
  std::optional<core::AtomicFile> out;
  fs::path raw;
};

void write_private(const core::TempDir& dir, const ConfigFile& file) {
  int fd = dir.create_file(file.name, file.mode);
  ::fchmod(fd, file.mode); // the umask must not loosen or tighten the guest's modes
  auto data = file.content.reveal();
  bool ok = ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size());
  ::close(fd);
  if (!ok)
    throw Failure(Category::failed, "volume.stage", "cannot write " + (dir / file.name).string());
}

// The steps' commands, each spelled once: the plan shows them with the
// placeholders $STAGING and $WORK, apply runs them with the real paths.
core::Command mkfs_command(const fs::path& staging, const fs::path& raw) {
  core::Command cmd{{"mke2fs", "-q", "-F", "-t", "ext4", "-L", k_config_label, "-d", staging.string(),
                     "-E", "root_owner=0:0", raw.string()}};
  cmd.timeout = std::chrono::seconds(60);
  return cmd;
}

core::Command owner_command(const std::vector<ConfigFile>& files, const fs::path& raw) {
  core::Command cmd{{"debugfs", "-w", "-f", "-", raw.string()}};
  for (const auto& f : files)
    cmd.stdin_data += "sif /" + f.name + " uid 0\nsif /" + f.name + " gid 0\n";
  cmd.timeout = std::chrono::seconds(60);
  return cmd;
}

constexpr std::chrono::seconds k_convert_timeout{120};

} // namespace

ConfigVolumePlan plan_config_volume(const ConfigVolumeRequest& request,
                                    std::shared_ptr<const ConfigValues> values,
                                    core::ProcessRunner& probe, core::ProcessRunner& effects) {
  auto build = std::make_shared<ConfigBuild>();
  build->files = render_config_files(*values);
  std::vector<ManifestEntry> entries;
  for (const auto& f : build->files) entries.push_back({f.name, f.mode, f.content.reveal()});
  ConfigVolumePlan result;
  result.digest = sha384_hex(content_manifest(k_config_label, entries));

  const fs::path output = request.output;
  const fs::path sidecar = digest_path(output);
  const auto format = request.format;
  std::error_code ec;
  bool exists = fs::exists(fs::symlink_status(output, ec));
  bool sidecar_exists = fs::exists(fs::symlink_status(sidecar, ec));
  bool unchanged = false;
  if (exists && sidecar_exists) {
    auto line = core::read_file(sidecar);
    auto info = core::disk_info(probe, output);
    unchanged = line && *line == digest_line(result.digest, output) && info &&
                info->format == format_name(format);
  }
  if (!unchanged && request.force == core::Force::no) {
    if (exists) core::refuse_existing(output, core::Force::no);
    if (sidecar_exists) core::refuse_existing(sidecar, core::Force::no);
  }
  auto dir = parent_dir(output);
  if (!unchanged) check_room(dir, 3 * k_config_size, k_config_size, "the config volume");
  auto done = [unchanged] { return unchanged; };

  auto& plan = result.plan;
  core::Json staged = core::Json::array();
  for (const auto& f : build->files) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(f.mode));
    staged.push_back({{"path", "/" + f.name},
                      {"mode", mode},
                      {"bytes", f.content.size()},
                      {"secret", f.secret}});
  }
  plan.add({"volume.config.stage", "file",
            "write the 4 files into a private 0700 staging directory in memory (/dev/shm; else "
            "in " + dir.string() + ")",
            {{"files", staged}}, done,
            [build, dir, output, format, force = request.force] {
              build->work.emplace(dir, "." + output.filename().string() + ".work");
              // tmpfs: the seed's staging copy never reaches a disk.
              auto memory = core::memory_backed_dir();
              build->staging.emplace(memory.empty() ? build->work->path() : memory,
                                     "tdxctl-config-staging");
              for (const auto& f : build->files) write_private(*build->staging, f);
              if (format == VolumeFormat::raw) {
                build->out.emplace(output, 0600, force);
                core::make_sparse(build->out->fd(), k_config_size, build->out->temp_path());
                build->out->close_fd();
                build->raw = build->out->temp_path();
              } else {
                build->raw = build->work->create_sparse("volume.raw", 0600, k_config_size);
              }
            },
            {}});
  plan.add({"volume.config.mkfs", "command",
            "make the ext4 filesystem labelled tdx-config from the staging directory, then "
            "remove the staging directory",
            core::command_detail(mkfs_command("$STAGING", "$WORK/volume.raw")), done,
            [build, &effects] {
              core::run_checked(effects, mkfs_command(build->staging->path(), build->raw),
                                "mke2fs (config volume)");
              build->staging.reset();
            },
            {}});
  plan.add({"volume.config.owner", "command",
            "make the files root-owned inside the filesystem (debugfs, no mount)",
            core::command_detail(owner_command(build->files, "$WORK/volume.raw")),
            done,
            [build, &effects] {
              auto r = core::run_checked(effects, owner_command(build->files, build->raw),
                                         "debugfs (config volume owners)");
              // debugfs exits 0 even when a request fails; it reports on stderr.
              if (r.err.find("File not found") != std::string::npos ||
                  r.err.find("read-only") != std::string::npos)
                throw Failure(Category::failed, "volume.debugfs",
                              "debugfs could not set file owners: " + core::trim(r.err));
            },
            {}});
  if (format == VolumeFormat::qcow2)
    plan.add({"volume.config.convert", "command", "convert the filesystem image to qcow2",
              core::command_detail(qcow2_convert_command("$WORK/volume.raw", output, k_convert_timeout)),
              done,
              [build, output, force = request.force, &effects] {
                build->out.emplace(output, 0600, force);
                build->out->close_fd();
                core::run_checked(effects,
                                  qcow2_convert_command(build->raw, build->out->temp_path(), k_convert_timeout),
                                  "qemu-img convert (config volume)");
                ::chmod(build->out->temp_path().c_str(), 0600);
              },
              {}});
  plan.add({"volume.config.commit", "file",
            "move the volume into place as " + output.string() + " (0600) and write " +
                sidecar.string(),
            {{"path", output.string()}, {"digest_path", sidecar.string()},
             {"sha384", result.digest}},
            done,
            [build, output, sidecar, digest = result.digest, force = request.force] {
              build->out->commit();
              try {
                core::write_file_atomic(sidecar, digest_line(digest, output), 0644, force);
              } catch (const Failure&) {
                // A volume without its digest would not be bound into MRCONFIGID: all or nothing.
                std::error_code ec2;
                fs::remove(output, ec2);
                throw;
              }
              build->work.reset();
            },
            [output, sidecar] {
              std::error_code ec2;
              fs::remove(output, ec2);
              fs::remove(sidecar, ec2);
            }});
  return result;
}

} // namespace tdx::volume
