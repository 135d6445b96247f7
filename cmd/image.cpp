// tdxctl image: build, inspect and verify hardened, LUKS2-encrypted TD images.
#include "context.hpp"

#include "tdxctl/core/secret.hpp"
#include "tdxctl/image/build.hpp"
#include "tdxctl/image/image_config.hpp"
#include "tdxctl/image/inspect.hpp"

#include <cstdlib>
#include <fmt/format.h>

namespace tdx::cmd {

namespace {

struct BuildArgs {
  std::string config;
  std::string out;
  std::string key_file;
  std::string recovery_file;
  std::string build_dir;
  bool force = false;
  uint32_t argon2_memory_kib = 262144;
  uint32_t argon2_iterations = 0;
  bool reproducible = false;
};

void add_build(CLI::App* group, Context& ctx) {
  auto args = std::make_shared<BuildArgs>();
  auto* build = group->add_subcommand(
      "build", "Build a TD image from a base qcow2 and image.yaml: customise the root, encrypt it "
               "into LUKS2 in userspace, lay out GPT, write qcow2 + manifest");
  build->add_option("-c,--config", args->config, "image.yaml describing the image")
      ->required()
      ->type_name("FILE")
      ->check(CLI::ExistingFile);
  build->add_option("--out", args->out, "Output .qcow2 (default: output: in image.yaml)")->type_name("PATH");
  build->add_option("--key-file", args->key_file,
                    "Unlock key (file, or - for stdin); default: a fresh random key written 0600 to OUTPUT.key")
      ->type_name("FILE");
  build->add_option("--recovery-key-file", args->recovery_file,
                    "Recovery passphrase for a second keyslot (file, or - for stdin)")
      ->type_name("FILE");
  build->add_option("--build-dir", args->build_dir,
                    "Directory to make the private work directory in (default: the output "
                    "directory); removed when the build ends. On a tmpfs mounted with "
                    "huge=within_size, always or advise the root is encrypted in place in 2 MiB "
                    "pages, fastest")
      ->type_name("DIR");
  build->add_option("--argon2-memory", args->argon2_memory_kib,
                    "argon2id memory cost of the keyslots in KiB (default 262144)")
      ->type_name("KIB");
  build->add_option("--argon2-iterations", args->argon2_iterations,
                    "Fixed argon2id iterations (default: benchmarked to 2 s)")
      ->type_name("N");
  build->add_flag("--reproducible", args->reproducible,
                  "Derive the LUKS volume key and every header salt from the unlock key, so the same "
                  "base, image.yaml and key give a byte-identical image (needs --argon2-iterations)");
  build->add_flag("--force", args->force, "Replace an existing output and key file");
  build->footer(
      "image.yaml keys: base.path, base.sha256, output, root_size, compress, hostname,\n"
      "kernel_cmdline, luks.uuid, luks.label, root_fs_uuid, customize.files[].{src,dest,owner,mode},\n"
      "customize.commands, customize.debs, customize.enable_units, customize.disable_units,\n"
      "customize.lock_users, customize.network, source_date_epoch,\n"
      "hardening.{disable_cloud_init,disable_getty,disable_ssh_password,\n"
      "module_sig_enforce}, volumes[].{label,mount}, unlock.{nonce_endpoint,attestation_endpoint,\n"
      "ca_cert,trust_system_cas,retries,timeout_s,insecure_sample_evidence}.\n"
      "The customisation runs natively in private mount/PID/UTS/network namespaces rooted at the\n"
      "unpacked root (no VM); customize.network: true keeps the host's network there.\n"
      "source_date_epoch (seconds; default: the base root's newest file) caps every timestamp in\n"
      "the rebuilt filesystems and is passed to update-initramfs.\n"
      "Writes OUTPUT.vmlinuz, OUTPUT.initrd, OUTPUT.cmdline (direct boot) and OUTPUT.manifest.json.\n"
      "unlock.ca_cert (the CA of the key service) is required; trust_system_cas: true instead\n"
      "lets the initramfs accept any public CA. The unlock values are checked with the guest's\n"
      "own unlock.conf parser: a value it would refuse at boot fails the build.\n"
      "unlock.insecure_sample_evidence: true (default false) is for testing without TDX: when the\n"
      "guest has no configfs-tsm it sends sample evidence instead of a quote, which only\n"
      "`tdxctl keys serve --insecure-accept-sample` accepts. Never set it for production.\n"
      "measure.{firmware,memory_gib,platform|acpi_tables} (optional): the TDVF and launch shape the\n"
      "image will boot with; the build then writes OUTPUT.measure.json, MRTD and RTMR0-3 of that TD\n"
      "as `tdxctl image measure -o json` prints them (for `tdxctl policy init --from-measure`).\n\n"
      "Examples:\n  tdxctl image build -c image.yaml\n"
      "  tdxctl image build -c image.yaml --key-file luks.key --out tdx-guest.qcow2\n"
      "  tdxctl -n image build -c image.yaml");
  build->callback([args, &ctx] {
    image::BuildRequest req;
    req.config = image::load_image_config(args->config);
    req.output = !args->out.empty() ? std::filesystem::path(args->out) : req.config.output;
    if (req.output.empty())
      throw core::Failure(core::Category::usage, "image.output.missing",
                          "no output: set output: in image.yaml or pass --out");
    if (!args->key_file.empty()) req.key_file = args->key_file;
    if (!args->recovery_file.empty()) req.recovery_file = args->recovery_file;
    req.build_dir = args->build_dir;
    req.force = args->force ? core::Force::yes : core::Force::no;
    req.unlock_cost.memory_kib = args->argon2_memory_kib;
    req.unlock_cost.iterations = args->argon2_iterations;
    req.reproducible = args->reproducible;
    // Checked before the build starts, not after minutes of it: a benchmarked
    // cost differs from machine to machine, and so would the header.
    if (req.reproducible && req.unlock_cost.iterations == 0)
      throw core::Failure(core::Category::usage, "image.reproducible.cost",
                          "--reproducible needs a fixed argon2 cost: the benchmarked one differs between "
                          "machines and runs",
                          "pass --argon2-iterations N (and --argon2-memory KIB), the same for every rebuild");
    if (!std::getenv("LIBGUESTFS_BACKEND")) setenv("LIBGUESTFS_BACKEND", "direct", 0);
    auto sink = ctx.progress();
    auto bp = image::make_build_plan(req, ctx.effects(), *sink);
    auto report = bp.plan.apply(ctx.dry_run(), *sink);
    auto doc = report.to_json();
    doc["output"] = req.output.string();
    doc["inputs_digest"] = bp.inputs_digest;
    doc["luks_uuid"] = bp.luks_uuid;
    doc["root_fs_uuid"] = bp.root_fs_uuid;
    doc["kernel_cmdline"] = bp.kernel_cmdline;
    if (report.dry_run) doc["plan"] = bp.plan.to_json();
    else doc["manifest"] = bp.manifest();
    auto timings = core::Json::array();
    double total = 0;
    for (auto& t : bp.timings()) {
      timings.push_back({{"stage", t.stage}, {"seconds", t.seconds}});
      total += t.seconds;
    }
    doc["timings"] = timings;
    ctx.out().emit("tdxctl.image.build/1", doc, [&](std::ostream& os) {
      if (report.dry_run) {
        os << "plan (" << bp.plan.steps().size() << " steps):\n";
        bp.plan.print(os);
      }
      report.print(os);
      if (!bp.timings().empty()) {
        os << "\nstage            seconds\n";
        for (auto& t : bp.timings()) os << fmt::format("{:<16} {:>7.1f}\n", t.stage, t.seconds);
        os << fmt::format("{:<16} {:>7.1f}\n\n", "total", total);
      }
      if (!report.dry_run && report.changed) {
        os << "image:    " << req.output.string() << "\nmanifest: " << req.output.string()
           << ".manifest.json\nboot:     " << req.output.string() << ".vmlinuz, .initrd, .cmdline (direct boot)\n";
        if (!req.key_file) os << "key:      " << req.output.string() << ".key (register it with the key service)\n";
      } else if (!report.changed && !report.dry_run) {
        os << req.output.string() << " was built from the same inputs\n";
      }
    });
  });
}

} // namespace

void add_image(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand("image", "Build and inspect hardened, LUKS2-encrypted TD images");
  group->require_subcommand(1);
  add_build(group, ctx);
  add_image_measure(group, ctx);

  auto image_path = std::make_shared<std::string>();
  auto* inspect = group->add_subcommand("inspect", "Show partitions, LUKS header (no secrets) and manifest check of an image");
  inspect->add_option("IMAGE", *image_path, "Image file (qcow2 or raw)")->required()->type_name("IMAGE");
  inspect->footer("Examples:\n  tdxctl image inspect tdx-guest.qcow2\n  tdxctl image inspect tdx-guest.qcow2 -o json");
  inspect->callback([image_path, &ctx] {
    if (!std::getenv("LIBGUESTFS_BACKEND")) setenv("LIBGUESTFS_BACKEND", "direct", 0);
    auto report = image::inspect_image(*image_path, ctx.probe());
    ctx.out().emit("tdxctl.image.inspect/1", report.doc, [&](std::ostream& os) { report.print(os); });
    if (!report.manifest_ok)
      throw core::Failure(core::Error{core::Category::failed, "image.manifest.mismatch",
                                      "the image does not match its manifest", "", true});
  });

  struct VerifyArgs {
    std::string image;
    std::string key_file;
  };
  auto vargs = std::make_shared<VerifyArgs>();
  auto* verify = group->add_subcommand(
      "verify", "Open the root with the key (kernel dm-crypt in the libguestfs appliance) and check "
                "the filesystem and the installed unlock path");
  verify->add_option("IMAGE", vargs->image, "Image file (qcow2 or raw)")->required()->type_name("IMAGE");
  verify->add_option("--key-file", vargs->key_file, "Unlock key (file, or - for stdin)")
      ->required()
      ->type_name("FILE");
  verify->footer("Examples:\n  tdxctl image verify tdx-guest.qcow2 --key-file tdx-guest.qcow2.key");
  verify->callback([vargs, &ctx] {
    if (!std::getenv("LIBGUESTFS_BACKEND")) setenv("LIBGUESTFS_BACKEND", "direct", 0);
    auto key = core::value_or_throw(core::Secret::from_file(vargs->key_file, "unlock key"));
    auto report = image::verify_image(vargs->image, key, ctx.probe());
    ctx.out().emit("tdxctl.image.verify/1", report.to_json(), [&](std::ostream& os) { report.print(os); });
    if (!report.ok())
      throw core::Failure(core::Error{core::Category::failed, "image.verify.failed",
                                      "image verification failed", "", true});
  });
}

} // namespace tdx::cmd
