#pragma once
// What `keys list` knows about running `keys serve` processes: each writes
// STORE/.serve-<pid>.json (0600) when it starts listening and removes it when
// it stops. Whether sample evidence is accepted is a property of the serving
// process, not of a VM, so `keys list` reads these markers (live pids only;
// a killed server's stale marker is ignored) and says, for every VM, that a
// running server would release its keys on sample evidence.

#include "tdxctl/core/output.hpp"

#include <ctime>
#include <filesystem>
#include <string>
#include <sys/types.h>
#include <vector>

namespace tdx::keys {

struct ServeMarker {
  pid_t pid = 0;
  std::string listen;
  bool insecure_accept_sample = false;
  time_t started = 0;
  core::Json to_json() const;
};

class ServeMarkerFile {
public:
  // Writes the marker of this process (the store must exist).
  ServeMarkerFile(const std::filesystem::path& store, ServeMarker marker);
  ~ServeMarkerFile();
  ServeMarkerFile(const ServeMarkerFile&) = delete;
  ServeMarkerFile& operator=(const ServeMarkerFile&) = delete;

private:
  std::filesystem::path m_path;
};

// Markers of processes that are still alive, by pid.
std::vector<ServeMarker> running_servers(const std::filesystem::path& store);

} // namespace tdx::keys
