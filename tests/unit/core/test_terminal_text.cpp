// core/terminal_text: text output cannot carry terminal control sequences.
#include "tdxctl/core/terminal_text.hpp"

#include <catch2/catch.hpp>

using namespace tdx;

TEST_CASE("terminal text: control characters and invalid UTF-8 are escaped, text is kept", "[core][terminal]") {
  CHECK(core::escape_control("plain text\twith tab\n") == "plain text\twith tab\n");
  CHECK(core::escape_control("Zürich ✓ 東京") == "Zürich ✓ 東京");
  // OSC window title, CSI clear screen, bell, carriage return, DEL.
  CHECK(core::escape_control("a\x1b]2;owned\x07" "b\x1b[2Jc\rd\x7f") ==
        "a\\x1b]2;owned\\x07b\\x1b[2Jc\\x0dd\\x7f");
  // C1 CSI as UTF-8 (U+009B) and as a raw byte, a truncated and an overlong sequence.
  CHECK(core::escape_control("\xc2\x9b" "31m") == "\\xc2\\x9b31m");
  CHECK(core::escape_control("\x9b" "31m") == "\\x9b31m");
  CHECK(core::escape_control("x\xe2\x9c") == "x\\xe2\\x9c");
  CHECK(core::escape_control("\xc0\xaf") == "\\xc0\\xaf");
}

