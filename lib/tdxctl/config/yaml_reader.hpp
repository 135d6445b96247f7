#pragma once
// Reading tdxctl's YAML files (host.yaml, image.yaml, policy.yaml) with
// errors that name file:line:column and the full key ("td.memory_gib").
// A YamlReader collects every problem in the file before stopping (mold's
// error + checkpoint), so the operator fixes them all in one pass.

#include "tdxctl/core/error.hpp"

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tdx::config {

class YamlReader;

// Every key set twice in the same mapping of `text`, as
// "NAME:LINE:COL: key 'a.b' is set twice (lines 3 and 7)". yaml-cpp would keep
// the first and PyYAML/Ansible the last, so tdxctl takes neither. Read from
// the parser's events, so aliases are not expanded.
std::vector<std::string> duplicate_keys(std::string_view text, const std::string& name);

// A mapping inside the document, addressed by its dotted key prefix.
class Section {
public:
  Section(YamlReader& reader, YAML::Node node, std::string prefix);

  bool present() const { return m_node.IsDefined() && !m_node.IsNull(); }
  bool has(std::string_view key) const;
  std::string key_path(std::string_view key) const;

  std::optional<std::string> str(std::string_view key);
  std::optional<int64_t> integer(std::string_view key, int64_t min, int64_t max);
  std::optional<bool> boolean(std::string_view key);
  std::optional<std::vector<std::string>> strings(std::string_view key);
  Section section(std::string_view key);
  // A sequence of mappings, each as a Section named key[i].
  std::vector<Section> sections(std::string_view key);

  // Any key not in `allowed` is an error ("unknown key 'x'; expected one of ...").
  void allow_only(std::initializer_list<std::string_view> allowed);
  // Record an error at `key` (or at this section when key is empty).
  void error(std::string_view key, const std::string& message);

private:
  YAML::Node child(std::string_view key) const;
  YamlReader& m_reader;
  YAML::Node m_node;
  std::string m_prefix;
};

class YamlReader {
public:
  // Parses the file; a syntax error or a duplicate key is a Failure naming
  // file:line:col (both lines for a duplicate).
  static YamlReader load(const std::filesystem::path& path);
  static YamlReader parse(std::string_view text, std::string name);

  Section root() { return Section(*this, m_root, ""); }
  const std::string& name() const { return m_name; }

  void error_at(const YAML::Mark& mark, const std::string& key, const std::string& message);
  const std::vector<std::string>& errors() const { return m_errors; }
  // Throws Failure(invalid_input) listing every recorded error, if any.
  void check() const;

private:
  YamlReader(YAML::Node root, std::string name) : m_root(std::move(root)), m_name(std::move(name)) {}
  YAML::Node m_root;
  std::string m_name;
  std::vector<std::string> m_errors;
};

} // namespace tdx::config
