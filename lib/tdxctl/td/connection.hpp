#pragma once
// RAII handles over the libvirt C API: a connection opened from --connect and
// the domains looked up through it. libvirt's own error text is kept in every
// Failure; its default handler (which prints to stderr) is silenced.

#include "tdxctl/core/error.hpp"

#include <libvirt/libvirt.h>

#include <memory>
#include <optional>
#include <string>

namespace tdx::td {

class Domain {
public:
  explicit Domain(virDomainPtr dom) : m_dom(dom) {}
  Domain(Domain&& other) noexcept : m_dom(std::exchange(other.m_dom, nullptr)) {}
  Domain& operator=(Domain&&) = delete;
  Domain(const Domain&) = delete;
  ~Domain();
  virDomainPtr get() const { return m_dom; }
  std::string name() const;
  bool active() const;
  bool persistent() const;
  std::string xml(bool inactive = false) const;
  // Our metadata element (tdxctl:td) or "" when the domain has none; from the
  // persistent definition when `config`, else from the current (live) one.
  std::string tdxctl_metadata(bool config = false) const;

private:
  virDomainPtr m_dom;
};

// read_only: for lookups only; libvirt grants it to users who may not manage
// domains (qemu:///system without polkit rights).
enum class Access { read_write, read_only };

class Connection {
public:
  // Throws Failure(not_ready) naming the URI and libvirt's reason.
  static std::shared_ptr<Connection> open(const std::string& uri, Access access = Access::read_write);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();
  virConnectPtr get() const { return m_conn; }
  const std::string& uri() const { return m_uri; }
  // The <domain type='...'> this driver accepts: "test" for test://, else "kvm".
  std::string domain_type() const;
  std::optional<Domain> lookup(const std::string& name) const;

private:
  Connection(virConnectPtr conn, std::string uri) : m_conn(conn), m_uri(std::move(uri)) {}
  virConnectPtr m_conn;
  std::string m_uri;
};

// The message of libvirt's last error in this thread.
std::string libvirt_error();
// Throws Failure(failed) "<what>: <libvirt error>".
[[noreturn]] void throw_libvirt(const std::string& what);

} // namespace tdx::td
