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

namespace tdx::config {
class Section;
}

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

// image.yaml's `measure:` and host.yaml's `td.measure:` name RTMR0's inputs
// one way: a platform capture (which already holds the ACPI tables) or the
// ACPI tables alone. Both set is an error recorded on the section.
void check_one_rtmr0_capture(config::Section& measure);

// read_file's errors name the file; predict_direct_boot's name the input.
core::Result<Prediction> predict_from_files(const MeasureFiles& files);

} // namespace tdx::measure
