#pragma once
// Logging to stderr through spdlog. -v raises the level (info, debug,
// trace), -q lowers it to errors only; TDXCTL_LOG_LEVEL overrides both.
// Under journald (JOURNAL_STREAM set) lines carry sd-daemon <N> prefixes
// instead of timestamps and colour.

namespace tdx::core {

void init_logging(int verbosity, bool quiet);

} // namespace tdx::core
