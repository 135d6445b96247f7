#pragma once
// The checks across sections of host.yaml (internal to host_file.cpp, split
// out to keep each file about one thing).

#include "tdxctl/up/host_file.hpp"

namespace tdx::config {
class Section;
}

namespace tdx::up {

// Records each problem at the key it is about in `root`'s reader:
// network.vm_address outside network.bridge_address's subnet, overlapping
// network.forwards, config.vm_ip / config.gateway disagreeing with the
// network, two of td.image / td.*_volume on one path, td.gpus not among
// gpu.devices, a config: section with no td.config_volume to write (when
// the file has a td: section).
void cross_check(const HostFile& file, config::Section& root);

} // namespace tdx::up
