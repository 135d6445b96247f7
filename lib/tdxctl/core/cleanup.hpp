#pragma once
// What to remove if tdxctl is interrupted or crashes while writing it, so an
// interrupted run never leaves a half-written temporary or a staged secret
// behind (mold's cleanup()). Files are unlinked; work directories are removed
// with everything in them. The handlers are async-signal-safe: fixed slots,
// and only openat/getdents64/unlinkat/close.

#include <string>

namespace tdx::core {

// SIGINT, SIGTERM, SIGHUP and SIGQUIT remove every registered path, then exit
// 130 (interrupted). SIGSEGV, SIGBUS, SIGFPE, SIGILL and SIGABRT remove them
// too, then die of the same signal (so the parent still sees the crash).
void install_cleanup_handlers();
// Returns a slot id (or -1 when all slots are taken: the path is then only
// removed by its owner's destructor).
int register_cleanup(const std::string& path);
// A directory, removed with its content.
int register_cleanup_tree(const std::string& dir);
void unregister_cleanup(int slot);

// Removes `dir` and everything in it without following symlinks, with the
// same async-signal-safe code the handlers run. Returns false if anything
// could not be removed.
bool remove_tree(const char* dir);

} // namespace tdx::core
