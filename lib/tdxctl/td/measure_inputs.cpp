// The launch inputs `image measure -c` predicts from (see the header).
#include "tdxctl/td/measure_inputs.hpp"

#include "tdxctl/td/boot_files.hpp"
#include "tdxctl/td/lifecycle.hpp"

namespace tdx::td {

core::Result<measure::MeasureFiles> measure_inputs(const core::Root& root, const TdSpec& spec) {
  if (spec.boot != BootMode::direct)
    return core::fail(core::Category::invalid_input, "measure.boot_firmware",
                      "td.boot is firmware: the image's own bootloader boots, and only TDVF's direct kernel "
                      "boot (kernel, initrd and command line from the image's manifest) can be predicted",
                      "set td.boot: direct, or measure the pieces with --firmware, --kernel, --initrd and --cmdline");
  auto boot = read_direct_boot(spec.image);
  if (!boot) {
    // launch's hint offers td.boot: firmware, which has nothing to predict.
    auto e = boot.error();
    if (e.code == "td.boot_manifest_missing" || e.code == "td.boot_files_missing")
      e.hint = "build the image with `tdxctl image build` (it records the kernel, initrd and command line in "
               "the manifest), or measure the pieces with --firmware, --kernel, --initrd and --cmdline";
    return std::unexpected(std::move(e));
  }
  if (auto ok = verify_direct_boot(*boot); !ok) return std::unexpected(ok.error());
  measure::MeasureFiles files;
  files.firmware = resolve_firmware(root, spec);
  files.kernel = boot->kernel.path;
  files.initrd = boot->initrd.path;
  files.cmdline = boot->cmdline;
  files.memory_bytes = static_cast<uint64_t>(spec.memory_gib) << 30;
  files.platform = spec.measure_platform;
  files.acpi_tables = spec.measure_acpi_tables;
  return files;
}

} // namespace tdx::td
