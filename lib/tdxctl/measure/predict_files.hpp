#pragma once
// A prediction from files on disk: what `image measure` and `image build`'s
// OUTPUT.measure.json both do, so the two read the same inputs the same way
// (the firmware, kernel and initrd bytes; the platform capture's JSON, or the
// raw ACPI tables blob in its place).

#include "tdxctl/core/error.hpp"
#include "tdxctl/measure/direct_boot.hpp"

#include <cstdint>
#include <filesystem>
#include <string>

namespace tdx::measure {

struct MeasureFiles {
  std::filesystem::path firmware, kernel;
  std::filesystem::path initrd; // empty: no initrd
  std::string cmdline;
  uint64_t memory_bytes = 0;
  std::filesystem::path platform;    // `tdxctl-guest measure platform`, or empty
  std::filesystem::path acpi_tables; // `tdxctl-guest measure acpi`, or empty (not with platform)
  bool legacy_qemu = false;
};

// read_file's errors name the file; predict_direct_boot's name the input.
core::Result<Prediction> predict_from_files(const MeasureFiles& files);

} // namespace tdx::measure
