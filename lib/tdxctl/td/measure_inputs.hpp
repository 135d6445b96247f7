#pragma once
// What `tdxctl image measure -c host.yaml` predicts: the TD that `td launch
// -c host.yaml` would start, from the same td: section. The firmware is the
// one launch resolves, the kernel, initrd and command line are the image's
// manifest entries (digests checked, as launch checks them), the memory is
// td.memory_gib, and RTMR0's platform inputs come from td.measure. One
// reading for both commands, so the prediction cannot drift from the launch.

#include "tdxctl/core/error.hpp"
#include "tdxctl/core/root.hpp"
#include "tdxctl/measure/predict_files.hpp"
#include "tdxctl/td/spec.hpp"

namespace tdx::td {

// The files to predict from: the firmware launch resolves, the manifest's
// kernel, initrd and command line (digests verified), td.memory_gib and
// td.measure's capture. measure.boot_firmware (invalid_input) when td.boot
// is firmware: the image's own bootloader boots, which is not what the
// prediction models. Otherwise read_direct_boot's and verify_direct_boot's
// errors.
core::Result<measure::MeasureFiles> measure_inputs(const core::Root& root, const TdSpec& spec);

} // namespace tdx::td
