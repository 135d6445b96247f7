// spdlog set-up: one stderr sink, no colour unless stderr is a TTY and
// NO_COLOR is unset (ninja/mkosi behaviour).
#include "tdxctl/core/log.hpp"

#include "tdxctl/core/terminal_text.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <unistd.h>

namespace tdx::core {
namespace {

// %* : the message through escape_control. Log lines quote servers and
// files too (curl names the certificate it refused), and reach the same
// terminal as the text output.
class EscapedMessage final : public spdlog::custom_flag_formatter {
public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    std::string text = escape_control(std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<EscapedMessage>(); }
};

void set_pattern(spdlog::logger& logger, const char* pattern) {
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<EscapedMessage>('*').set_pattern(pattern);
  logger.set_formatter(std::move(formatter));
}

} // namespace

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
  set_pattern(*logger, std::getenv("JOURNAL_STREAM") ? "%*" : "tdxctl: %^%l%$: %*");
  spdlog::set_default_logger(logger);
}

} // namespace tdx::core
