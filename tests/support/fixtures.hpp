#pragma once
// Test helpers: real files in a fresh temporary directory (ccache's
// TestContext), a fixture host tree builder, the test data location,
// and running the built tdxctl binary.

#include "tdxctl/core/fs.hpp"
#include "tdxctl/core/runner.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace tdx::test {

// tests/data (the real quotes, schemas, sysfs capture and TDVF; see its README).
std::filesystem::path testdata();
std::filesystem::path tests_dir();

// Creates `path` (and parents) under `dir` with `content`.
void put(const std::filesystem::path& dir, const std::string& path, const std::string& content);
// `n` bytes that differ with `seed` and repeat no short period: contents
// whose every byte a copy or a read must get right.
std::string pattern(size_t n, unsigned seed);
// A symlink `path` -> `target` under `dir` (parents created).
void link(const std::filesystem::path& dir, const std::string& path, const std::string& target);

// Copies tests/fixtures/hosts/tdx-ready (a host that passes every check of
// `host check`: Emerald Rapids, kvm_intel.tdx=Y, TDX module initialised, TD
// capacity, IOMMU groups, vfio-pci, vsock, firmware, one H100 on vfio-pci)
// into `dir` and adds the QGS socket, which git cannot store.
void make_ready_host(const std::filesystem::path& dir);
// Extracts a .tgz capture from tests/data/sysfs into `dir`; returns the root inside.
std::filesystem::path extract_capture(const std::filesystem::path& dir, const std::string& name);

// What `tdxctl image build` leaves beside IMAGE for direct kernel boot:
// IMAGE.vmlinuz, IMAGE.initrd and IMAGE.cmdline (the exact command line, no
// newline), named with their SHA-384 under boot_files in IMAGE.manifest.json.
// The kernel and initrd are small stand-ins: only their digests matter here.
void put_boot_files(const std::filesystem::path& image,
                    const std::string& cmdline = "root=/dev/mapper/root ro console=ttyS0");

// Runs the built tdxctl with `args` (argv, no shell).
core::Completed run_tdxctl(const std::vector<std::string>& args, const std::string& stdin_data = {},
                           const std::vector<std::string>& env = {});

} // namespace tdx::test
