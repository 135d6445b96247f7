#pragma once
// What `tdxctl image measure -c host.yaml` predicts: the TD that `td launch
// -c host.yaml` would start, from the same td: section. The firmware is the
// one launch resolves, the kernel, initrd and command line are the image's
// manifest entries (digests checked, as launch checks them), the memory is
// td.memory_gib, and RTMR0's platform inputs come from td.measure. One
// reading for both commands, so the prediction cannot drift from the launch.

#include "tdxctl/core/error.hpp"
#include "tdxctl/core/root.hpp"
#include "tdxctl/td/boot_files.hpp"
#include "tdxctl/td/spec.hpp"

#include <cstdint>
#include <string>

namespace tdx::td {

struct MeasureInputs {
  std::string firmware;   // the TDVF path launch would use
  DirectBoot boot;        // kernel, initrd, command line (digests verified)
  uint64_t memory_bytes = 0;
  std::string platform;   // td.measure.platform, or ""
  std::string acpi_tables; // td.measure.acpi_tables, or ""
};

// measure.boot_firmware (invalid_input) when td.boot is firmware: the image's
// own bootloader boots, which is not what the prediction models. Otherwise
// read_direct_boot's and verify_direct_boot's errors.
core::Result<MeasureInputs> measure_inputs(const core::Root& root, const TdSpec& spec);

} // namespace tdx::td
