#pragma once
// Typed errors and the exit codes they map to.
//
// Ordinary outcomes (a parse error, a negative verdict, "already bound") are
// returned as Result<T>; "the command cannot continue" is thrown as Failure
// and caught exactly once, in cmd/main.cpp. Each Category maps to one exit
// code, which scripts and Ansible depend on (see tdxctl(1), EXIT STATUS).

#include <expected>
#include <stdexcept>
#include <string>
#include <utility>

namespace tdx::core {

enum class Category {
  failed,        // 1: the operation failed, or a verification verdict was negative
  usage,         // 2: wrong flags or arguments
  invalid_input, // 2: a file or value that does not parse or validate
  not_ready,     // 3: host not ready / precondition not met
  partial,       // 4: some steps applied and rollback did not complete
  interrupted,   // 130: SIGINT/SIGTERM
};

int exit_code(Category category);
const char* category_name(Category category);

struct Error {
  Category category = Category::failed;
  std::string code;    // stable, machine-matchable, e.g. "quote.truncated"
  std::string message; // what went wrong, naming the file/key/offset
  std::string hint;    // what to do about it (may be empty)
  bool reported = false; // the command already emitted its document (JSON)
};

// Thrown when a command cannot continue; carries the Error to print.
class Failure : public std::runtime_error {
public:
  explicit Failure(Error error)
      : std::runtime_error(error.message), m_error(std::move(error)) {}
  Failure(Category category, std::string code, std::string message, std::string hint = {})
      : Failure(Error{category, std::move(code), std::move(message), std::move(hint)}) {}
  const Error& error() const noexcept { return m_error; }

private:
  Error m_error;
};

template <class T> using Result = std::expected<T, Error>;

inline std::unexpected<Error> fail(Category category, std::string code, std::string message,
                                   std::string hint = {}) {
  return std::unexpected(Error{category, std::move(code), std::move(message), std::move(hint)});
}

// Turns an error Result into a thrown Failure at the level where it is fatal.
template <class T> T value_or_throw(Result<T>&& result) {
  if (!result) throw Failure(std::move(result.error()));
  if constexpr (!std::is_void_v<T>) return std::move(*result);
}

} // namespace tdx::core

// Propagate an error Result from a function that itself returns a Result.
#define TDX_TRY(expr)                                                                   \
  do {                                                                                  \
    auto tdx_try_result_ = (expr);                                                      \
    if (!tdx_try_result_) return std::unexpected(std::move(tdx_try_result_.error()));   \
  } while (false)
