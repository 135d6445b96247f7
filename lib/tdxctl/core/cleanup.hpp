#pragma once
// Paths to unlink if tdxctl is interrupted (SIGINT/SIGTERM) while writing
// them, so an interrupted run never leaves a half-written temporary behind
// (mold's cleanup()). The handler is async-signal-safe: fixed slots, unlink.

#include <string>

namespace tdx::core {

// Installs SIGINT/SIGTERM handlers that unlink registered paths, then exit 130.
void install_cleanup_handlers();
// Returns a slot id (or -1 when all slots are taken: the path is then only
// removed by its owner's destructor).
int register_cleanup(const std::string& path);
void unregister_cleanup(int slot);

} // namespace tdx::core
