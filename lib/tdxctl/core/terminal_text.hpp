#pragma once
// Text bound for a terminal. Much of what tdxctl prints comes from elsewhere
// (a quote's certificate names, a guest's or server's error message, a
// config volume), so every text document (Output::emit), error (main) and
// log line (core/log) passes through escape_control: a hostile string can
// neither move the cursor, retitle the window nor hide a line.

#include <string>
#include <string_view>

namespace tdx::core {

// Replaces each control character (C0 other than newline and tab, DEL, the
// C1 range U+0080-U+009F) and each byte that is not part of valid UTF-8 by
// \xNN, one escape per byte, so the bytes stay recoverable from the text.
std::string escape_control(std::string_view text);
// The same, appended to `out` (a batch's reused buffer).
void append_escaped_control(std::string_view text, std::string& out);

} // namespace tdx::core
