// JSON -> YAML through yaml-cpp's emitter (see yaml_writer.hpp for why every
// string is quoted).
#include "tdxctl/config/yaml_writer.hpp"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <sstream>

namespace tdx::config {

namespace {

// A key goes out plain only when no YAML 1.1 or 1.2 reader can take it for
// anything but that string (not "on", "no", "null", "1", ...).
bool plain_key(const std::string& key) {
  static const char* const reserved[] = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"};
  if (key.empty() || !std::isalpha(static_cast<unsigned char>(key[0]))) return false;
  for (char c : key)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.' && c != '/') return false;
  std::string lower;
  for (char c : key) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* word : reserved)
    if (lower == word) return false;
  return true;
}

// Every character a YAML reader takes as a line break (YAML 1.1 also counts
// NEL, LS and PS), as '\n', so comment text cannot end its line early.
std::string unify_line_breaks(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      out += '\n';
    } else if (text.substr(i, 2) == "\xC2\x85") {
      out += '\n', i += 1;
    } else if (text.substr(i, 3) == "\xE2\x80\xA8" || text.substr(i, 3) == "\xE2\x80\xA9") {
      out += '\n', i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

void emit(YAML::Emitter& out, const core::Json& v) {
  switch (v.type()) {
  case core::Json::value_t::object:
    if (v.empty()) out << YAML::Flow; // "tdx: {}" on one line
    out << YAML::BeginMap;
    for (const auto& [key, item] : v.items()) {
      out << YAML::Key;
      if (plain_key(key)) out << key;
      else out << YAML::DoubleQuoted << key;
      out << YAML::Value;
      emit(out, item);
    }
    out << YAML::EndMap;
    break;
  case core::Json::value_t::array:
    if (v.empty()) out << YAML::Flow;
    out << YAML::BeginSeq;
    for (const auto& item : v) emit(out, item);
    out << YAML::EndSeq;
    break;
  case core::Json::value_t::string:
    out << YAML::DoubleQuoted << v.get<std::string>();
    break;
  case core::Json::value_t::boolean:
    out << YAML::TrueFalseBool << v.get<bool>();
    break;
  case core::Json::value_t::number_integer:
    out << v.get<int64_t>();
    break;
  case core::Json::value_t::number_unsigned:
    out << v.get<uint64_t>();
    break;
  case core::Json::value_t::number_float:
    out << v.get<double>();
    break;
  default:
    out << YAML::Null;
  }
}

} // namespace

std::string to_yaml(const core::Json& value, const std::vector<std::string>& comments) {
  std::ostringstream text;
  for (const auto& comment : comments) {
    std::istringstream lines(unify_line_breaks(comment));
    std::string line;
    bool any = false;
    while (std::getline(lines, line)) {
      text << (line.empty() ? "#" : "# " + line) << "\n";
      any = true;
    }
    if (!any) text << "#\n";
  }
  YAML::Emitter out;
  out.SetIndent(2);
  // Non-ASCII as \u escapes inside the quotes: no reader folds or splits them.
  out.SetOutputCharset(YAML::EscapeNonAscii);
  emit(out, value);
  text << out.c_str() << "\n";
  return text.str();
}

} // namespace tdx::config
