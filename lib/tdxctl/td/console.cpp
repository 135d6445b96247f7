// The console stream is read on its own thread with blocking virStreamRecv:
// libvirt's RPC client does the socket IO for a waiting thread itself, so no
// event loop is needed. The calling thread forwards input and watches for
// the escape byte; on detach it aborts the stream, which ends the reader.
#include "tdxctl/td/console.hpp"

#include "tdxctl/libvirt/api.hpp"
#include "tdxctl/td/console_log.hpp"
#include "tdxctl/td/spec.hpp"

#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <memory>
#include <thread>

namespace tdx::td {

namespace {

using core::Category;

struct StreamDeleter {
  void operator()(virStreamPtr s) const { libvirt::api().virStreamFree(s); }
};

// Raw mode for the duration of the attachment; restored even on failure.
class RawTerminal {
public:
  explicit RawTerminal(int fd) : m_fd(fd) {
    if (!::isatty(fd) || ::tcgetattr(fd, &m_saved) != 0) return;
    termios raw = m_saved;
    ::cfmakeraw(&raw);
    m_active = ::tcsetattr(fd, TCSAFLUSH, &raw) == 0;
  }
  ~RawTerminal() {
    if (m_active) ::tcsetattr(m_fd, TCSAFLUSH, &m_saved);
  }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

private:
  int m_fd;
  termios m_saved{};
  bool m_active = false;
};

bool write_all(int fd, const char* data, size_t size) {
  while (size) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

} // namespace

core::Result<void> attach_console(const Connection& conn, const std::string& name, int in_fd, int out_fd) {
  if (!valid_domain_name(name))
    return core::fail(Category::usage, "td.bad_name", "domain name '" + name + "': " + domain_name_rule);
  auto dom = conn.lookup(name);
  if (!dom)
    return core::fail(Category::not_ready, "td.not_found", "no domain " + name + " on " + conn.uri(),
                      "see 'tdxctl td list'");
  if (!dom->active())
    return core::fail(Category::not_ready, "td.not_running", "domain " + name + " is not running",
                      "its last output is in the console log: 'tdxctl td logs " + name + "'");
  std::shared_ptr<virStream> stream(libvirt::api().virStreamNew(conn.get(), 0), StreamDeleter{});
  if (!stream) return core::fail(Category::failed, "td.console", "cannot make a libvirt stream: " + libvirt_error());
  if (libvirt::api().virDomainOpenConsole(dom->get(), nullptr, stream.get(), 0) != 0)
    return core::fail(Category::not_ready, "td.console",
                      "cannot open the console of " + name + ": " + libvirt_error(),
                      "another client may hold it; its output is in 'tdxctl td logs " + name + " -f'");

  std::atomic<bool> closed{false};
  // The reader owns a reference: on detach the stream is aborted and the
  // thread ends on its own, possibly after this function returns.
  std::thread reader([stream, out_fd, &closed] {
    char buf[4096];
    for (int n; (n = libvirt::api().virStreamRecv(stream.get(), buf, sizeof buf)) > 0;)
      if (!write_all(out_fd, buf, static_cast<size_t>(n))) break;
    closed = true;
  });
  std::string notice = std::string("Connected to ") + name + " (escape: " + console_escape_name + ")\r\n";
  write_all(out_fd, notice.data(), notice.size());
  {
    RawTerminal raw(in_fd);
    char buf[4096];
    while (!closed) {
      pollfd p{in_fd, POLLIN, 0};
      int ready = ::poll(&p, 1, 200); // wakes to notice a console that closed
      if (ready < 0 && errno != EINTR) break;
      if (ready <= 0) continue;
      ssize_t n = ::read(in_fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break; // input ended
      size_t keep = static_cast<size_t>(n);
      bool escape = false;
      for (size_t i = 0; i < keep; ++i)
        if (buf[i] == console_escape) keep = i, escape = true;
      if (keep && libvirt::api().virStreamSend(stream.get(), buf, keep) < 0) break;
      if (escape) break;
    }
  }
  if (!closed) libvirt::api().virStreamAbort(stream.get());
  else libvirt::api().virStreamFinish(stream.get());
  reader.join();
  write_all(out_fd, "\n", 1);
  return {};
}

} // namespace tdx::td
