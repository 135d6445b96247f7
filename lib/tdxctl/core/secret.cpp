// Secret storage: the only place secret bytes live in tdxctl's memory.
#include "tdxctl/core/secret.hpp"

#include <openssl/crypto.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>

namespace tdx::core {

Secret::~Secret() { wipe(); }
Secret::Secret(Secret&& other) noexcept : m_value(std::move(other.m_value)) { other.wipe(); }
Secret& Secret::operator=(Secret&& other) noexcept {
  if (this != &other) {
    wipe();
    m_value = std::move(other.m_value);
    other.wipe();
  }
  return *this;
}

void Secret::wipe() {
  if (!m_value.empty()) OPENSSL_cleanse(m_value.data(), m_value.size());
  m_value.clear();
}

static void drop_newline(std::string& s) {
  if (!s.empty() && s.back() == '\n') s.pop_back();
  if (!s.empty() && s.back() == '\r') s.pop_back();
}

Result<Secret> Secret::from_file(const std::string& path, std::string_view what) {
  std::string value;
  if (path == "-") {
    value.assign(std::istreambuf_iterator<char>(std::cin), {});
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in)
      return fail(Category::invalid_input, "secret.unreadable",
                  std::string(what) + ": cannot read " + path);
    value.assign(std::istreambuf_iterator<char>(in), {});
  }
  drop_newline(value);
  if (value.empty())
    return fail(Category::invalid_input, "secret.empty",
                std::string(what) + ": " + (path == "-" ? "stdin" : path) + " is empty");
  return Secret(std::move(value));
}

Result<Secret> Secret::from_env(const char* name, std::string_view what) {
  const char* v = std::getenv(name);
  if (!v || !*v)
    return fail(Category::invalid_input, "secret.env_unset",
                std::string(what) + ": environment variable " + name + " is not set");
  std::string value(v);
  drop_newline(value);
  return Secret(std::move(value));
}

} // namespace tdx::core
