// spdlog set-up: one stderr sink, no colour unless stderr is a TTY and
// NO_COLOR is unset (ninja/mkosi behaviour).
#include "tdxctl/core/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <unistd.h>

namespace tdx::core {

void init_logging(int verbosity, bool quiet) {
  auto level = spdlog::level::warn;
  if (quiet) level = spdlog::level::err;
  else if (verbosity == 1) level = spdlog::level::info;
  else if (verbosity == 2) level = spdlog::level::debug;
  else if (verbosity >= 3) level = spdlog::level::trace;
  if (const char* env = std::getenv("TDXCTL_LOG_LEVEL"))
    level = spdlog::level::from_str(env);

  bool tty = ::isatty(2) && !std::getenv("NO_COLOR") &&
             !(std::getenv("TERM") && std::string(std::getenv("TERM")) == "dumb");
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>(
      tty ? spdlog::color_mode::automatic : spdlog::color_mode::never);
  auto logger = std::make_shared<spdlog::logger>("tdxctl", sink);
  logger->set_level(level);
  if (std::getenv("JOURNAL_STREAM")) logger->set_pattern("%v");
  else logger->set_pattern("tdxctl: %^%l%$: %v");
  spdlog::set_default_logger(logger);
}

} // namespace tdx::core
