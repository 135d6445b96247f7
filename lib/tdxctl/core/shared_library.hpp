#pragma once
// A shared library opened the first time a command calls into it. On the
// development VM every page fault costs ~30 us, and mapping libvirt and
// libguestfs with their ~17 dependencies at start-up cost every command
// ~10 ms and ~240 page faults (a quarter of `tdxctl --version`), including
// the many that never talk to libvirt or build an image; libcurl with its
// ~23 cost another ~12 ms. tdxctl-guest still lists libcurl and
// libcryptsetup as NEEDED, because the image build copies what `ldd` lists
// into the initramfs; there dlopen finds them already loaded.

#include <mutex>
#include <string>

namespace tdx::core {

class SharedLibrary {
public:
  // soname as the dynamic loader searches for it ("libvirt.so.0"); package is
  // the Debian package that ships it, named in the error.
  SharedLibrary(std::string soname, std::string package);
  SharedLibrary(const SharedLibrary&) = delete;
  SharedLibrary& operator=(const SharedLibrary&) = delete;

  // The address of `name`, opening the library on first use (RTLD_NOW, so a
  // library missing a symbol fails here, not halfway through a command).
  // Throws Failure(not_ready) naming the library and its package.
  void* symbol(const char* name);

private:
  void* handle();
  std::string m_soname, m_package;
  std::once_flag m_once;
  void* m_handle = nullptr;
  std::string m_error;
};

// Fills one member of a function table declared with decltype(&::fn).
template <class F> void resolve(SharedLibrary& library, F& slot, const char* name) {
  slot = reinterpret_cast<F>(library.symbol(name));
}

// A library's function table, opened and resolved on first use (thread-safe:
// function-local statics), once per Api type. `fill` resolves every member,
// normally with TDX_API_RESOLVE over the library's X-macro list.
template <class Api, class Fill>
const Api& lazy_api(const char* soname, const char* package, Fill fill) {
  static SharedLibrary library(soname, package);
  static const Api table = [&] {
    Api t;
    fill(library, t);
    return t;
  }();
  return table;
}

// A unique_ptr deleter that frees through a table's member function:
// ApiFree<&api, &Api::xmlFreeDoc> calls api().xmlFreeDoc(p).
template <auto Table, auto Member> struct ApiFree {
  template <class T> void operator()(T* p) const { (Table().*Member)(p); }
};

// For an X-macro list of C functions X(fn): declare the member, resolve it.
#define TDX_API_MEMBER(name) decltype(&::name) name = nullptr;
#define TDX_API_RESOLVE(name) ::tdx::core::resolve(library, table.name, #name);

} // namespace tdx::core
