// Reads the measured inputs and predicts (see the header).
#include "tdxctl/measure/predict_files.hpp"

#include "tdxctl/capture/platform.hpp"
#include "tdxctl/config/yaml_reader.hpp"
#include "tdxctl/core/fs.hpp"
#include "tdxctl/core/hex.hpp"

namespace tdx::measure {

core::Result<Prediction> predict_from_files(const MeasureFiles& f) {
  auto read = [](const std::filesystem::path& p) { return core::read_file(p); };
  auto firmware = read(f.firmware);
  if (!firmware) return std::unexpected(firmware.error());
  auto kernel = read(f.kernel);
  if (!kernel) return std::unexpected(kernel.error());
  core::Result<std::string> initrd = std::string();
  if (!f.initrd.empty() && !(initrd = read(f.initrd))) return std::unexpected(initrd.error());

  DirectBootInputs in;
  in.firmware = core::as_bytes(*firmware);
  in.firmware_name = f.firmware.string();
  in.kernel = core::as_bytes(*kernel);
  in.kernel_name = f.kernel.string();
  if (!f.initrd.empty()) {
    in.initrd = core::as_bytes(*initrd);
    in.initrd_name = f.initrd.string();
  }
  in.cmdline = f.cmdline;
  in.memory_bytes = f.memory_bytes;
  in.legacy_qemu = f.legacy_qemu;
  if (!f.platform.empty()) {
    auto text = read(f.platform);
    if (!text) return std::unexpected(text.error());
    auto platform = capture::platform_from_json(*text, f.platform.string());
    if (!platform) return std::unexpected(platform.error());
    in.platform = std::move(*platform);
  }
  if (!f.acpi_tables.empty()) {
    auto tables = read(f.acpi_tables);
    if (!tables) return std::unexpected(tables.error());
    in.platform.fw_cfg[std::string(capture::kAcpiTablesFile)] = std::vector<uint8_t>(tables->begin(), tables->end());
  }
  return predict_direct_boot(in);
}

void check_one_rtmr0_capture(config::Section& measure) {
  if (measure.has("platform") && measure.has("acpi_tables"))
    measure.error("acpi_tables",
                  "give platform or acpi_tables, not both: a platform capture already holds the ACPI tables");
}

} // namespace tdx::measure
