// Build-time tool: fills a manifest template with the library path, the API version and the
// settings list (features.settings, read by vkconfig), so that settings.cpp stays the only
// place a setting is defined.
//   manifest_gen <template> <output> <library_path> <api_version>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "settings.h"

namespace {

std::string JsonEscape(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out;
}

std::string ToUpper(std::string s) {
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

void Replace(std::string& text, const std::string& key, const std::string& value) {
    for (auto pos = text.find(key); pos != std::string::npos; pos = text.find(key, pos + value.size())) {
        text.replace(pos, key.size(), value);
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 5) {
        std::cerr << "usage: manifest_gen <template> <output> <library_path> <api_version>\n";
        return 2;
    }
    std::ifstream in(argv[1]);
    if (!in) {
        std::cerr << "cannot read " << argv[1] << "\n";
        return 1;
    }
    std::stringstream buffer;
    buffer << in.rdbuf();
    std::string text = buffer.str();

    std::ostringstream settings;
    settings << "[";
    bool first = true;
    for (const auto& s : vma::layer::AllSettings()) {
        // vkconfig types: integers are INT; sizes take K/M/G suffixes, so they are strings.
        const std::string type = std::string(s.type) == "uint" ? "INT" : "STRING";
        settings << (first ? "\n" : ",\n") << "                {\"key\": \"" << s.key << "\", \"env\": \""
                 << vma::layer::kEnvPrefix << ToUpper(s.key) << "\", \"label\": \"" << s.key << "\", \"description\": \""
                 << JsonEscape(s.description) << "\", \"type\": \"" << type << "\", \"default\": \""
                 << JsonEscape(s.defaultValue) << "\"}";
        first = false;
    }
    settings << "\n            ]";

    Replace(text, "@JSON_LIBRARY_PATH@", argv[3]);
    Replace(text, "@JSON_API_VERSION@", argv[4]);
    Replace(text, "@JSON_SETTINGS@", settings.str());
    std::ofstream out(argv[2]);
    out << text;
    return out ? 0 : 1;
}
