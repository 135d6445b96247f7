// The net state record is JSON (nlohmann) written with AtomicFile, so an
// interrupted `net up` never leaves a truncated record that `net down` would
// then misread; a corrupt one is reported by path rather than guessed at.
#include "tdxctl/net/state.hpp"

#include "tdxctl/core/fs.hpp"

#include <filesystem>

namespace tdx::net {

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
  s.mode = j.at("mode").get<std::string>() == "macvtap" ? Mode::macvtap : Mode::bridge;
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
  if (j.contains("ip_forward_previous") && j.at("ip_forward_previous").is_string())
    s.ip_forward_previous = j.at("ip_forward_previous").get<std::string>();
  return s;
}

std::optional<NetState> load_state(const core::Root& root) {
  auto path = root.path(kStatePath);
  if (!std::filesystem::exists(path)) return std::nullopt;
  auto text = core::value_or_throw(core::read_file(path));
  try {
    return NetState::from_json(core::Json::parse(text));
  } catch (const std::exception& e) {
    throw core::Failure(core::Category::invalid_input, "net.state_corrupt",
                        path.string() + ": not a tdxctl net record: " + e.what(),
                        "inspect it; remove it only if nothing tdxctl made is left (tdxctl net status)");
  }
}

void save_state(const core::Root& root, const NetState& state) {
  auto path = root.path(kStatePath);
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  if (ec)
    throw core::Failure(core::Category::failed, "net.state",
                        "cannot create " + path.parent_path().string() + ": " + ec.message());
  core::write_file_atomic(path, state.to_json().dump(2) + "\n", 0644, core::Force::yes);
}

void remove_state(const core::Root& root) {
  std::error_code ec;
  std::filesystem::remove(root.path(kStatePath), ec);
  if (ec)
    throw core::Failure(core::Category::failed, "net.state", "cannot remove " +
                        root.path(kStatePath).string() + ": " + ec.message());
}

} // namespace tdx::net
