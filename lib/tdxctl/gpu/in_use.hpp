#pragma once
// Is a GPU or NVSwitch in use? Binding a device away from a driver that a
// process still holds hangs the unbind or crashes the process (bind.sh never
// checked), so tdxctl names the holder and refuses. The answer comes from
// /proc/<pid>/fd under the Root: who holds /dev/nvidia*, /dev/vfio/<group>, or
// the device's own resource/config files.

#include "tdxctl/core/error.hpp"
#include "tdxctl/core/root.hpp"
#include "tdxctl/sysfs/pci.hpp"

#include <string>
#include <vector>

namespace tdx::gpu {

struct OpenFile {
  int pid = 0;
  std::string comm;   // /proc/<pid>/comm
  std::string target; // what the fd points at, e.g. /dev/nvidia3
};

// Every open fd on /dev/nvidia*, /dev/vfio/* or a /sys PCI file, one scan.
std::vector<OpenFile> scan_device_files(const core::Root& root);

// The open files that mean `device` is in use, given its current driver:
// on nvidia, /dev/nvidia<minor> (the minor from /proc/driver/nvidia/gpus;
// any /dev/nvidiaN when unknown) and the driver-wide nodes (nvidiactl,
// nvidia-uvm, nvidia-modeset); on nvidia-nvswitch, /dev/nvidia-nvswitch*;
// on vfio-pci, /dev/vfio/<group> (a running VM); always its resource files.
std::vector<OpenFile> device_users(const core::Root& root, const sysfs::PciDevice& device,
                                   const std::vector<OpenFile>& files);

// The open files grouped by process, in order of first appearance: one
// entry per pid with every file it holds (for `gpu list`'s IN USE BY).
struct Holder {
  int pid = 0;
  std::string comm;
  std::vector<std::string> files;
};
std::vector<Holder> holders(const std::vector<OpenFile>& files);

// Error (not_ready, "gpu.in_use") naming the first holder of any of
// `devices` and how many more there are: "cannot <verb>: device in use (...)".
core::Result<void> refuse_in_use(const core::Root& root,
                                 const std::vector<const sysfs::PciDevice*>& devices,
                                 const std::string& verb, const std::string& hint);

// "nvidia-persiste (pid 1234) holds /dev/nvidia0"
std::string describe(const OpenFile& file);

} // namespace tdx::gpu
