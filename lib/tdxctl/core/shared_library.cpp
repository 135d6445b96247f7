// dlopen behind one error: core.library, exit 3 (the host lacks a package).
#include "tdxctl/core/shared_library.hpp"

#include "tdxctl/core/error.hpp"

#include <dlfcn.h>

namespace tdx::core {

SharedLibrary::SharedLibrary(std::string soname, std::string package)
    : m_soname(std::move(soname)), m_package(std::move(package)) {}

void* SharedLibrary::handle() {
  std::call_once(m_once, [this] {
    // RTLD_LOCAL: its symbols serve only the lookups below, never another
    // library's unresolved ones. The loader's usual search (no path from
    // the environment of this process beyond what ld.so itself honours).
    m_handle = ::dlopen(m_soname.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!m_handle) {
      const char* why = ::dlerror();
      m_error = why ? why : "dlopen failed";
    }
  });
  if (!m_handle)
    throw Failure(Category::not_ready, "core.library", "cannot load " + m_soname + ": " + m_error,
                  "install the " + m_package + " package (apt-get install " + m_package + ")");
  return m_handle;
}

void* SharedLibrary::symbol(const char* name) {
  void* h = handle();
  ::dlerror();
  void* address = ::dlsym(h, name);
  if (!address)
    throw Failure(Category::not_ready, "core.library",
                  m_soname + " has no " + name + ": it is older than this tdxctl was built against",
                  "upgrade the " + m_package + " package");
  return address;
}

} // namespace tdx::core
