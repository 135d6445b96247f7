// JSON -> YAML through yaml-cpp's emitter (see yaml_writer.hpp for why every
// string is quoted).
#include "tdxctl/config/yaml_writer.hpp"

#include <yaml-cpp/yaml.h>

#include <sstream>

namespace tdx::config {

namespace {

void emit(YAML::Emitter& out, const core::Json& v) {
  switch (v.type()) {
  case core::Json::value_t::object:
    if (v.empty()) out << YAML::Flow; // "tdx: {}" on one line
    out << YAML::BeginMap;
    for (const auto& [key, item] : v.items()) {
      out << YAML::Key << key << YAML::Value;
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
    std::istringstream lines(comment);
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
  emit(out, value);
  text << out.c_str() << "\n";
  return text.str();
}

} // namespace tdx::config
