// Secret storage: the only place secret bytes live in tdxctl's memory. Each
// Secret owns whole anonymous pages (mmap) so mlock and madvise apply to
// nothing else, and a read from a file or stdin goes straight into them (no
// iostream buffer, no growing std::string leaving copies behind).
#include "tdxctl/core/secret.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tdx::core {

bool is_secret_env_entry(std::string_view entry) {
  auto name = entry.substr(0, entry.find('='));
  return std::find(k_secret_env_vars.begin(), k_secret_env_vars.end(), name) !=
         k_secret_env_vars.end();
}

Secret::Secret(size_t capacity) {
  if (capacity == 0) return;
  // From here on the process holds secret bytes: no core dumps, no ptrace by
  // the same user. Never undone: freed heap may still hold copies.
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  auto page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  size_t bytes = (capacity + page - 1) / page * page;
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  // Best effort: RLIMIT_MEMLOCK may be small for an unprivileged user, and a
  // secret that may be swapped is still better than no secret.
  (void)::mlock(p, bytes);
  (void)::madvise(p, bytes, MADV_DONTDUMP);
  (void)::madvise(p, bytes, MADV_WIPEONFORK);
  m_data = static_cast<char*>(p);
  m_capacity = bytes;
}

Secret::Secret(std::string value) : Secret(value.size()) {
  if (!value.empty()) std::memcpy(m_data, value.data(), value.size());
  m_size = value.size();
  OPENSSL_cleanse(value.data(), value.size());
}

Secret Secret::concat(std::initializer_list<std::string_view> parts) {
  size_t total = 0;
  for (auto part : parts) total += part.size();
  Secret s(total);
  for (auto part : parts) {
    if (!part.empty()) std::memcpy(s.m_data + s.m_size, part.data(), part.size());
    s.m_size += part.size();
  }
  return s;
}

Secret::~Secret() { release(); }

Secret::Secret(Secret&& other) noexcept
    : m_data(other.m_data), m_size(other.m_size), m_capacity(other.m_capacity) {
  other.m_data = nullptr;
  other.m_size = other.m_capacity = 0;
}

Secret& Secret::operator=(Secret&& other) noexcept {
  if (this != &other) {
    release();
    m_data = other.m_data, m_size = other.m_size, m_capacity = other.m_capacity;
    other.m_data = nullptr;
    other.m_size = other.m_capacity = 0;
  }
  return *this;
}

void Secret::release() noexcept {
  if (!m_data) return;
  OPENSSL_cleanse(m_data, m_capacity);
  ::munlock(m_data, m_capacity);
  ::munmap(m_data, m_capacity);
  m_data = nullptr;
  m_size = m_capacity = 0;
}

void Secret::drop_newline() {
  for (char c : {'\n', '\r'})
    if (m_size > 0 && m_data[m_size - 1] == c) m_data[--m_size] = 0;
}

Result<Secret> Secret::from_file(const std::string& path, std::string_view what) {
  bool is_stdin = path == "-";
  int fd = is_stdin ? 0 : ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return fail(Category::invalid_input, "secret.unreadable",
                std::string(what) + ": cannot read " + path + ": " + std::strerror(errno));
  auto s = from_fd(fd, is_stdin ? std::string("stdin") : path, what);
  if (!is_stdin) ::close(fd);
  return s;
}

Result<Secret> Secret::from_fd(int fd, const std::string& name, std::string_view what) {
  struct stat st {};
  size_t expected = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)
                        ? static_cast<size_t>(std::max<off_t>(st.st_size, 0))
                        : 0;
  // One byte more than the file's size, so a read that fills it means "more".
  Secret s(std::min(expected, k_max_secret_bytes) + 1);
  int error = 0;
  bool too_large = false;
  for (;;) {
    if (s.m_size == s.m_capacity) {
      if (s.m_capacity >= k_max_secret_bytes) {
        too_large = true;
        break;
      }
      // A pipe: grow into new locked pages; the old ones are wiped on release.
      Secret bigger(std::min(s.m_capacity * 2, k_max_secret_bytes + 1));
      std::memcpy(bigger.m_data, s.m_data, s.m_size);
      bigger.m_size = s.m_size;
      s = std::move(bigger);
    }
    ssize_t n = ::read(fd, s.m_data + s.m_size, s.m_capacity - s.m_size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) error = errno;
    if (n <= 0) break;
    s.m_size += static_cast<size_t>(n);
  }
  if (error)
    return fail(Category::invalid_input, "secret.unreadable",
                std::string(what) + ": cannot read " + name + ": " + std::strerror(error));
  if (too_large || s.m_size > k_max_secret_bytes)
    return fail(Category::invalid_input, "secret.too_large",
                std::string(what) + ": " + name + " is larger than " +
                    std::to_string(k_max_secret_bytes >> 10) + " KiB; a key or seed is far smaller");
  s.drop_newline();
  if (s.empty())
    return fail(Category::invalid_input, "secret.empty", std::string(what) + ": " + name + " is empty");
  return s;
}

Result<Secret> Secret::from_env(const char* name, std::string_view what) {
  char* v = std::getenv(name);
  if (!v || !*v)
    return fail(Category::invalid_input, "secret.env_unset",
                std::string(what) + ": environment variable " + name + " is not set");
  std::string_view value(v);
  auto s = concat({value});
  // The string lives in the block /proc/PID/environ shows (or in libc's copy
  // after setenv): unsetenv only drops the pointer, so wipe the bytes first.
  OPENSSL_cleanse(v, value.size());
  ::unsetenv(name);
  s.drop_newline();
  return s;
}

} // namespace tdx::core
