#include "tdxctl/keys/serve_marker.hpp"

#include "tdxctl/core/fs.hpp"
#include "tdxctl/core/json_limits.hpp"
#include "tdxctl/quote/crypto.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <unistd.h>

namespace tdx::keys {

namespace fs = std::filesystem;

core::Json ServeMarker::to_json() const {
  return core::Json{{"pid", pid},
                    {"listen", listen},
                    {"insecure_accept_sample", insecure_accept_sample},
                    {"started", quote::format_time(started)}};
}

ServeMarkerFile::ServeMarkerFile(const fs::path& store, ServeMarker marker)
    : m_path(store / (".serve-" + std::to_string(marker.pid) + ".json")) {
  core::write_file_atomic(m_path, marker.to_json().dump() + "\n", 0600, core::Force::yes);
}

ServeMarkerFile::~ServeMarkerFile() { ::unlink(m_path.c_str()); }

std::vector<ServeMarker> running_servers(const fs::path& store) {
  std::vector<ServeMarker> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(store, ec)) {
    auto name = e.path().filename().string();
    if (!name.starts_with(".serve-") || !name.ends_with(".json") || !e.is_regular_file(ec) || e.is_symlink(ec))
      continue;
    auto text = core::read_file(e.path());
    if (!text) continue;
    auto doc = core::parse_untrusted_json(*text, name);
    if (!doc || !doc->is_object()) continue;
    ServeMarker m;
    try {
      m.pid = doc->value("pid", 0);
      m.listen = doc->value("listen", std::string());
      m.insecure_accept_sample = doc->value("insecure_accept_sample", false);
      if (auto t = quote::parse_time(doc->value("started", std::string()), "started")) m.started = *t;
    } catch (const core::Json::exception&) {
      continue; // not a marker this version wrote
    }
    // Alive (EPERM: alive, another user's); a stale marker of a killed server is skipped.
    if (m.pid > 0 && (::kill(m.pid, 0) == 0 || errno == EPERM)) out.push_back(std::move(m));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.pid < b.pid; });
  return out;
}

} // namespace tdx::keys
