#pragma once
// The namespace the image customisation runs in: the base's own programs
// (dpkg, systemctl, update-initramfs, the operator's commands) run natively,
// not emulated in a VM, as PID 1's children in fresh mount, PID, UTS and
// (unless asked otherwise) network namespaces whose root is the unpacked tree.
//
// - Mount propagation is private from the first step, so nothing mounted
//   here (/proc, a minimal /dev, read-only /sys, tmpfs /run and /tmp, the
//   binds) ever appears in the host's namespace.
// - Every mount target is reached through O_PATH|O_NOFOLLOW descriptors from
//   the tree's root, so a symlink in the (untrusted) base cannot redirect a
//   mount; after pivot_root the host's filesystem is detached entirely.
// - The namespace's PID 1 dies with tdxctl (PR_SET_PDEATHSIG), and with it
//   every process and mount in the namespace: a failure, a signal or a crash
//   leaves nothing behind but files in the work tree, which goes with the
//   build's private work directory.
// - Children start with a fixed environment (none of tdxctl's: no secret can
//   leak through it) and stdin on /dev/null.

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace tdx::image {

struct NamespaceBind {
  std::filesystem::path host;  // a directory on the host
  std::string inside;          // absolute path in the tree ("/boot", "/run/tdxctl-input")
  bool read_only = true;
};

struct NamespaceSpec {
  std::filesystem::path root;             // the tree that becomes /
  std::vector<NamespaceBind> binds;       // targets under /run are created, others must exist
  bool network = false;                   // share the host's network (and its resolv.conf)
  std::string hostname = "tdx-build";
  std::vector<std::string> env;           // "NAME=value", on top of the fixed base set
};

// Runs `body` as PID 1 of the namespace and waits for it (and so for the
// namespace) to end. A core::Failure thrown by body is rethrown here with its
// category, code, message and hint; a crash or other exception becomes
// Failure(failed, "image.namespace.*").
void run_in_build_namespace(const NamespaceSpec& spec, const std::function<void()>& body);

// Inside the namespace (from body): runs argv (PATH looked up in the tree),
// stdout and stderr captured together; Failure(failed, code) naming `what`
// with the output's tail when it exits non-zero. Returns the output.
std::string run_inside(const std::vector<std::string>& argv, const std::string& what, const std::string& code);

} // namespace tdx::image
