#pragma once
// `tdxctl td console NAME`: the domain's console through libvirt's own API
// (virDomainOpenConsole, as virsh console does, no virsh process), with the
// terminal in raw mode while attached and an escape key to detach.

#include "tdxctl/core/error.hpp"
#include "tdxctl/td/connection.hpp"

#include <string>

namespace tdx::td {

inline constexpr char console_escape = 0x1d; // Ctrl-], as virsh and telnet
inline constexpr const char* console_escape_name = "Ctrl-]";

// Copies the console to out_fd and in_fd to the console until the escape
// byte arrives on in_fd (or in_fd ends, or the console closes). in_fd is put
// in raw mode when it is a terminal and restored afterwards. not_ready when
// the domain is not running or the driver has no console to give.
core::Result<void> attach_console(const Connection& conn, const std::string& name, int in_fd, int out_fd);

} // namespace tdx::td
