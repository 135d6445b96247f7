// Exit codes are part of tdxctl's interface: 0 ok, 1 failed, 2 usage or
// invalid input, 3 not ready, 4 partial, 130 interrupted (as ninja does).
#include "tdxctl/core/error.hpp"

namespace tdx::core {

int exit_code(Category category) {
  switch (category) {
  case Category::failed: return 1;
  case Category::usage:
  case Category::invalid_input: return 2;
  case Category::not_ready: return 3;
  case Category::partial: return 4;
  case Category::interrupted: return 130;
  }
  return 1;
}

const char* category_name(Category category) {
  switch (category) {
  case Category::failed: return "failed";
  case Category::usage: return "usage";
  case Category::invalid_input: return "invalid_input";
  case Category::not_ready: return "not_ready";
  case Category::partial: return "partial";
  case Category::interrupted: return "interrupted";
  }
  return "failed";
}

} // namespace tdx::core
