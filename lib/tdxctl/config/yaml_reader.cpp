// yaml-cpp underneath; its Mark is 0-based, operators count from 1.
#include "tdxctl/config/yaml_reader.hpp"

#include "tdxctl/core/fs.hpp"

#include <yaml-cpp/eventhandler.h>

#include <algorithm>
#include <map>
#include <sstream>

namespace tdx::config {

using core::Category;
using core::Failure;

static std::string where(const std::string& name, const YAML::Mark& mark) {
  if (mark.line < 0) return name;
  return name + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

namespace {

// Tracks the open mappings and sequences; a node event in a mapping that
// expects a key is that key.
class DuplicateKeyFinder final : public YAML::EventHandler {
public:
  DuplicateKeyFinder(const std::string& name, std::vector<std::string>& found)
      : m_name(name), m_found(found) {}

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { leaf(mark, "~"); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { leaf(mark, "*alias"); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string& value) override {
    leaf(mark, value);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    open(mark, false);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    open(mark, true);
  }
  void OnMapEnd() override { close(); }

private:
  struct Frame {
    bool is_map = false;
    bool expect_key = true;
    size_t index = 0;
    std::string path;
    std::string key; // the key whose value comes next (maps)
    std::map<std::string, int> lines; // key -> line it was first set on
  };

  // The path of the node starting now, noting it as a key where it is one.
  std::string child_path(const YAML::Mark& mark, const std::string* key_text) {
    if (m_frames.empty()) return {};
    auto& f = m_frames.back();
    if (!f.is_map) return f.path + "[" + std::to_string(f.index) + "]";
    if (f.expect_key) {
      f.key = key_text ? *key_text : "?";
      auto full = f.path.empty() ? f.key : f.path + "." + f.key;
      if (key_text) {
        auto [it, fresh] = f.lines.emplace(*key_text, mark.line + 1);
        if (!fresh)
          m_found.push_back(m_name + ":" + std::to_string(mark.line + 1) + ":" +
                            std::to_string(mark.column + 1) + ": key '" + full +
                            "' is set twice (lines " + std::to_string(it->second) + " and " +
                            std::to_string(mark.line + 1) + "); keep one");
      }
      return full;
    }
    return f.path.empty() ? f.key : f.path + "." + f.key;
  }
  // A complete node ended: the parent moves on to its next key or item.
  void done() {
    if (m_frames.empty()) return;
    auto& f = m_frames.back();
    if (f.is_map) f.expect_key = !f.expect_key;
    else ++f.index;
  }
  void leaf(const YAML::Mark& mark, const std::string& text) {
    child_path(mark, &text);
    done();
  }
  void open(const YAML::Mark& mark, bool is_map) {
    auto path = child_path(mark, nullptr);
    m_frames.push_back(Frame{is_map, true, 0, std::move(path), {}, {}});
  }
  void close() {
    if (!m_frames.empty()) m_frames.pop_back();
    done();
  }

  const std::string& m_name;
  std::vector<std::string>& m_found;
  std::vector<Frame> m_frames;
};

} // namespace

std::vector<std::string> duplicate_keys(std::string_view text, const std::string& name) {
  std::vector<std::string> found;
  std::istringstream in{std::string(text)};
  YAML::Parser parser(in);
  DuplicateKeyFinder finder(name, found);
  parser.HandleNextDocument(finder);
  return found;
}

YamlReader YamlReader::parse(std::string_view text, std::string name) {
  try {
    YAML::Node root = YAML::Load(std::string(text));
    if (auto dups = duplicate_keys(text, name); !dups.empty()) {
      std::string message = dups.front();
      for (size_t i = 1; i < dups.size(); ++i) message += "\n" + dups[i];
      throw Failure(Category::invalid_input, "config.duplicate_key", message,
                    "a key may appear once per mapping (YAML readers disagree on which one wins)");
    }
    if (root.IsDefined() && !root.IsNull() && !root.IsMap())
      throw Failure(Category::invalid_input, "config.not_mapping",
                    where(name, root.Mark()) + ": the document must be a mapping of keys");
    return YamlReader(root, std::move(name));
  } catch (const YAML::Exception& e) {
    throw Failure(Category::invalid_input, "config.syntax",
                  where(name, e.mark) + ": YAML syntax error: " + e.msg,
                  "fix the YAML syntax at that position");
  }
}

YamlReader YamlReader::load(const std::filesystem::path& path) {
  auto text = core::read_file(path);
  if (!text)
    throw Failure(Category::invalid_input, "config.unreadable", text.error().message,
                  "pass the right file with -c/--config");
  return parse(*text, path.string());
}

void YamlReader::error_at(const YAML::Mark& mark, const std::string& key,
                          const std::string& message) {
  m_errors.push_back(where(m_name, mark) + ": " + (key.empty() ? "" : "key '" + key + "': ") +
                     message);
}

void YamlReader::check() const {
  if (m_errors.empty()) return;
  std::string message = m_errors.front();
  for (size_t i = 1; i < m_errors.size(); ++i) message += "\n" + m_errors[i];
  throw Failure(Category::invalid_input, "config.invalid", message,
                m_errors.size() > 1 ? std::to_string(m_errors.size()) + " problems; fix them all and re-run"
                                    : "");
}

Section::Section(YamlReader& reader, YAML::Node node, std::string prefix)
    : m_reader(reader), m_node(std::move(node)), m_prefix(std::move(prefix)) {
  if (present() && !m_node.IsMap()) {
    m_reader.error_at(m_node.Mark(), m_prefix, "expected a mapping of keys");
    m_node = YAML::Node();
  }
}

std::string Section::key_path(std::string_view key) const {
  return m_prefix.empty() ? std::string(key) : m_prefix + "." + std::string(key);
}

YAML::Node Section::child(std::string_view key) const {
  if (!present()) return YAML::Node();
  for (auto it = m_node.begin(); it != m_node.end(); ++it)
    if (it->first.Scalar() == key) return it->second;
  return YAML::Node();
}

bool Section::has(std::string_view key) const {
  auto n = child(key);
  return n.IsDefined() && !n.IsNull();
}

void Section::error(std::string_view key, const std::string& message) {
  auto n = key.empty() ? m_node : child(key);
  m_reader.error_at(n.IsDefined() ? n.Mark() : m_node.Mark(),
                    key.empty() ? m_prefix : key_path(key), message);
}

std::optional<std::string> Section::str(std::string_view key) {
  auto n = child(key);
  if (!n.IsDefined() || n.IsNull()) return std::nullopt;
  if (!n.IsScalar()) {
    error(key, "expected a string");
    return std::nullopt;
  }
  return n.Scalar();
}

std::optional<int64_t> Section::integer(std::string_view key, int64_t min, int64_t max) {
  auto s = str(key);
  if (!s) return std::nullopt;
  try {
    size_t used = 0;
    long long v = std::stoll(*s, &used, 0);
    if (used != s->size()) throw std::invalid_argument("trailing");
    if (v < min || v > max) {
      error(key, "expected an integer in " + std::to_string(min) + ".." + std::to_string(max) +
                     ", got " + *s);
      return std::nullopt;
    }
    return v;
  } catch (const std::exception&) {
    error(key, "expected an integer, got '" + *s + "'");
    return std::nullopt;
  }
}

std::optional<bool> Section::boolean(std::string_view key) {
  auto s = str(key);
  if (!s) return std::nullopt;
  if (*s == "true" || *s == "yes" || *s == "on") return true;
  if (*s == "false" || *s == "no" || *s == "off") return false;
  error(key, "expected true or false, got '" + *s + "'");
  return std::nullopt;
}

std::optional<std::vector<std::string>> Section::strings(std::string_view key) {
  auto n = child(key);
  if (!n.IsDefined() || n.IsNull()) return std::nullopt;
  if (n.IsScalar()) return std::vector<std::string>{n.Scalar()};
  if (!n.IsSequence()) {
    error(key, "expected a list of strings");
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (size_t i = 0; i < n.size(); ++i) {
    if (!n[i].IsScalar()) {
      m_reader.error_at(n[i].Mark(), key_path(key) + "[" + std::to_string(i) + "]",
                        "expected a string");
      continue;
    }
    out.push_back(n[i].Scalar());
  }
  return out;
}

Section Section::section(std::string_view key) {
  return Section(m_reader, child(key), key_path(key));
}

std::vector<Section> Section::sections(std::string_view key) {
  std::vector<Section> out;
  auto n = child(key);
  if (!n.IsDefined() || n.IsNull()) return out;
  if (!n.IsSequence()) {
    error(key, "expected a list");
    return out;
  }
  for (size_t i = 0; i < n.size(); ++i)
    out.emplace_back(m_reader, n[i], key_path(key) + "[" + std::to_string(i) + "]");
  return out;
}

void Section::allow_only(std::initializer_list<std::string_view> allowed) {
  if (!present()) return;
  for (auto it = m_node.begin(); it != m_node.end(); ++it) {
    const auto& k = it->first.Scalar();
    if (std::find(allowed.begin(), allowed.end(), k) != allowed.end()) continue;
    std::string list;
    for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
    m_reader.error_at(it->first.Mark(), key_path(k), "unknown key; expected one of: " + list);
  }
}

} // namespace tdx::config
