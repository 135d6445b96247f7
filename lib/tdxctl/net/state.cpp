// The net state record is JSON (nlohmann), written to a temporary and renamed
// into place, so an interrupted `net up` never leaves a truncated record that
// `net down` would then misread. `net down` acts on what the record says, as
// root, so the record is trusted only when it is a regular file owned by
// root (or by the user running tdxctl) that nobody else can write, reached
// without a symlink out of --root; every value in it is validated as a flag
// would be (interface names, addresses, forwards, an ip_forward of 0 or 1).
#include "tdxctl/net/state.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace tdx::net {

using core::Category;
using core::Failure;

namespace {

constexpr const char* kStateDir = "/run/tdxctl";
constexpr const char* kStateName = "net.json";
// Far above any real record (40k forwards are ~1 MB); a bound on what is read.
constexpr size_t kMaxState = 16u << 20;

// An fd on a directory, closed on scope exit.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// /run/tdxctl under the root as an O_PATH fd, resolved without leaving the
// root; created (with /run) when `create`. -1 when absent and not created.
int open_state_dir(const core::Root& root, bool create) {
  for (std::string abs : {"/run", kStateDir}) {
    auto dir = root.open_file(abs, O_PATH | O_DIRECTORY);
    if (dir) {
      if (abs == kStateDir) return *dir;
      ::close(*dir);
      continue;
    }
    if (dir.error().code == "root.escape") throw Failure(dir.error());
    if (!create) return -1;
    auto slash = abs.rfind('/');
    Fd parent{core::value_or_throw(root.open_file(slash == 0 ? "/" : abs.substr(0, slash), O_PATH | O_DIRECTORY))};
    if (::mkdirat(parent.fd, abs.substr(slash + 1).c_str(), 0755) != 0 && errno != EEXIST)
      throw Failure(Category::failed, "net.state",
                    "cannot create " + root.path(abs).string() + ": " + std::strerror(errno));
    if (abs == kStateDir) return core::value_or_throw(root.open_file(abs, O_PATH | O_DIRECTORY));
  }
  return -1; // not reached
}

std::string octal(unsigned mode) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04o", mode);
  return buf;
}

void check_name(const char* key, const std::string& value) {
  if (auto ok = check_ifname(key, value); !ok) throw Failure(ok.error());
}

} // namespace

core::Json NetState::to_json() const {
  core::Json j{{"mode", mode_name(mode)}};
  if (mode == Mode::bridge) {
    j["bridge"] = bridge;
    j["bridge_address"] = bridge_address;
    j["tap"] = tap;
    j["vm_address"] = vm_address;
    j["forwards"] = forwards;
  } else {
    j["macvtap"] = macvtap;
  }
  j["public_interface"] = public_interface;
  j["created"] = {{"bridge", created_bridge},
                  {"bridge_address", added_address},
                  {"tap", created_tap},
                  {"macvtap", created_macvtap}};
  j["ip_forward_previous"] = ip_forward_previous ? core::Json(*ip_forward_previous) : core::Json();
  return j;
}

NetState NetState::from_json(const core::Json& j) {
  NetState s;
  auto mode = j.at("mode").get<std::string>();
  if (mode != "bridge" && mode != "macvtap")
    throw Failure(Category::invalid_input, "net.state_corrupt", "mode '" + mode + "' is not bridge or macvtap");
  s.mode = mode == "macvtap" ? Mode::macvtap : Mode::bridge;
  s.bridge = j.value("bridge", "");
  s.bridge_address = j.value("bridge_address", "");
  s.tap = j.value("tap", "");
  s.vm_address = j.value("vm_address", "");
  s.macvtap = j.value("macvtap", "");
  s.public_interface = j.value("public_interface", "");
  if (j.contains("forwards")) s.forwards = j.at("forwards").get<std::vector<std::string>>();
  const auto& c = j.at("created");
  s.created_bridge = c.value("bridge", false);
  s.added_address = c.value("bridge_address", false);
  s.created_tap = c.value("tap", false);
  s.created_macvtap = c.value("macvtap", false);
  if (j.contains("ip_forward_previous") && !j.at("ip_forward_previous").is_null())
    s.ip_forward_previous = j.at("ip_forward_previous").get<std::string>();
  // The same checks as for flags: these names reach netlink and the value
  // reaches /proc/sys when `net down` runs.
  if (s.mode == Mode::bridge) {
    check_name("bridge", s.bridge);
    check_name("tap", s.tap);
    if (s.added_address) core::value_or_throw(parse_cidr(s.bridge_address));
    for (const auto& f : s.forwards) core::value_or_throw(parse_port_forward(f));
  } else {
    check_name("macvtap", s.macvtap);
  }
  if (!s.public_interface.empty()) check_name("public_interface", s.public_interface);
  if (s.ip_forward_previous && *s.ip_forward_previous != "0" && *s.ip_forward_previous != "1")
    throw Failure(Category::invalid_input, "net.state_corrupt",
                  "ip_forward_previous is '" + *s.ip_forward_previous + "', expected \"0\" or \"1\"");
  return s;
}

std::optional<NetState> load_state(const core::Root& root) {
  const std::string shown = root.path(kStatePath).string();
  Fd dir{open_state_dir(root, false)};
  if (dir.fd < 0) return std::nullopt;
  Fd file{::openat(dir.fd, kStateName, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)};
  if (file.fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    throw Failure(Category::not_ready, "net.state_untrusted",
                  "cannot open " + shown + ": " + std::strerror(errno),
                  errno == ELOOP ? "the record is a symlink; remove it and check what net up left (tdxctl net status)"
                                 : "");
  }
  struct stat st {};
  if (::fstat(file.fd, &st) != 0 || !S_ISREG(st.st_mode))
    throw Failure(Category::not_ready, "net.state_untrusted", shown + " is not a regular file",
                  "remove it and check what net up left (tdxctl net status)");
  if (st.st_uid != 0 && st.st_uid != ::geteuid())
    throw Failure(Category::not_ready, "net.state_untrusted",
                  shown + " is owned by uid " + std::to_string(st.st_uid) + ", not root: refusing to act on it",
                  "net up writes it as root; check who wrote this one, then remove it");
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    throw Failure(Category::not_ready, "net.state_untrusted",
                  shown + " is writable by group or others (mode " + octal(st.st_mode & 07777) +
                      "): refusing to act on it",
                  "net up writes it 0644; check who changed it, then 'chmod go-w' it");
  std::string text;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(file.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      throw Failure(Category::failed, "net.state", "cannot read " + shown + ": " + std::strerror(errno));
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxState)
      throw Failure(Category::invalid_input, "net.state_corrupt", shown + " is over 16 MiB: not a tdxctl net record");
  }
  try {
    return NetState::from_json(core::Json::parse(text));
  } catch (const std::exception& e) {
    throw Failure(Category::invalid_input, "net.state_corrupt",
                  shown + ": not a tdxctl net record: " + e.what(),
                  "inspect it; remove it only if nothing tdxctl made is left (tdxctl net status)");
  }
}

void save_state(const core::Root& root, const NetState& state) {
  const std::string shown = root.path(kStatePath).string();
  Fd dir{open_state_dir(root, true)};
  const std::string temp = std::string(".") + kStateName + ".tmp." + std::to_string(::getpid());
  ::unlinkat(dir.fd, temp.c_str(), 0); // a leftover of a killed run with the same pid
  Fd file{::openat(dir.fd, temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644)};
  auto failed = [&](const std::string& what) {
    int e = errno;
    ::unlinkat(dir.fd, temp.c_str(), 0);
    throw Failure(Category::failed, "net.state", "cannot " + what + " " + shown + ": " + std::strerror(e));
  };
  if (file.fd < 0) failed("write");
  ::fchmod(file.fd, 0644); // whatever the umask
  std::string data = state.to_json().dump(2) + "\n";
  for (std::string_view rest = data; !rest.empty();) {
    ssize_t n = ::write(file.fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) failed("write");
    rest.remove_prefix(static_cast<size_t>(n));
  }
  if (::fsync(file.fd) != 0) failed("write");
  if (::renameat(dir.fd, temp.c_str(), dir.fd, kStateName) != 0) failed("replace");
  Fd sync{::openat(dir.fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)}; // an O_PATH fd cannot fsync
  if (sync.fd >= 0) ::fsync(sync.fd);
}

void remove_state(const core::Root& root) {
  Fd dir{open_state_dir(root, false)};
  if (dir.fd < 0) return;
  if (::unlinkat(dir.fd, kStateName, 0) != 0 && errno != ENOENT)
    throw Failure(Category::failed, "net.state",
                  "cannot remove " + root.path(kStatePath).string() + ": " + std::strerror(errno));
}

} // namespace tdx::net
