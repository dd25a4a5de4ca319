#include "settings.h"

#include <vulkan/vk_layer_config.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <sstream>

namespace vma::layer {
namespace {

using Apply = std::function<bool(Settings&, const std::string&, std::string* why)>;

struct SettingDef {
    SettingInfo info;
    Apply apply;
};

std::string Lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

std::string Trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return {};
    const auto e = s.find_last_not_of(" \t\r\n");
    return s.substr(b, e - b + 1);
}

std::vector<std::string> Split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::string item;
    std::istringstream in(s);
    while (std::getline(in, item, sep)) {
        item = Trim(item);
        if (!item.empty()) out.push_back(item);
    }
    return out;
}

// Sizes accept plain bytes or a K/M/G suffix (binary units): "268435456", "256M", "64KiB".
bool ParseSize(const std::string& text, std::uint64_t* out, std::string* why) {
    std::string s = Lower(Trim(text));
    if (s.empty() || !std::isdigit(static_cast<unsigned char>(s[0]))) {
        *why = "expected a size in bytes (optionally with K, M or G)";
        return false;
    }
    std::size_t pos = 0;
    unsigned long long value = 0;
    try {
        value = std::stoull(s, &pos);
    } catch (...) {
        *why = "number out of range";
        return false;
    }
    std::string suffix = s.substr(pos);
    std::uint64_t mul = 1;
    if (suffix.empty() || suffix == "b") {
        mul = 1;
    } else if (suffix == "k" || suffix == "kb" || suffix == "kib") {
        mul = 1ull << 10;
    } else if (suffix == "m" || suffix == "mb" || suffix == "mib") {
        mul = 1ull << 20;
    } else if (suffix == "g" || suffix == "gb" || suffix == "gib") {
        mul = 1ull << 30;
    } else {
        *why = "unknown size suffix '" + suffix + "'";
        return false;
    }
    if (value > UINT64_MAX / mul) {
        *why = "number out of range";
        return false;
    }
    *out = value * mul;
    return true;
}

bool ParseUint(const std::string& text, std::uint64_t max, std::uint64_t* out, std::string* why) {
    std::string s = Trim(text);
    if (s.empty() || !std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); })) {
        *why = "expected a non-negative integer";
        return false;
    }
    try {
        unsigned long long v = std::stoull(s);
        if (v > max) {
            *why = "larger than " + std::to_string(max);
            return false;
        }
        *out = v;
        return true;
    } catch (...) {
        *why = "number out of range";
        return false;
    }
}

bool ParseBool(const std::string& text, bool* out, std::string* why) {
    const std::string s = Lower(Trim(text));
    if (s == "1" || s == "true" || s == "on" || s == "yes") {
        *out = true;
        return true;
    }
    if (s == "0" || s == "false" || s == "off" || s == "no") {
        *out = false;
        return true;
    }
    *why = "expected true or false";
    return false;
}

bool ParseAlgorithmName(const std::string& text, core::Algorithm* out) {
    const std::string s = Lower(Trim(text));
    if (s == "tlsf") *out = core::Algorithm::kTlsf;
    else if (s == "linear") *out = core::Algorithm::kLinear;
    else if (s == "buddy") *out = core::Algorithm::kBuddy;
    else return false;
    return true;
}

bool ParseMemoryTypeIndex(const std::string& text, std::uint32_t* out, std::string* why) {
    std::uint64_t v = 0;
    if (!ParseUint(text, kMaxMemoryTypes - 1, &v, why)) {
        *why = "memory type index: " + *why;
        return false;
    }
    *out = static_cast<std::uint32_t>(v);
    return true;
}

const std::vector<SettingDef>& Definitions() {
    static const std::vector<SettingDef> defs = {
        {{"log_level", "enum", "info", "Log level: trace, debug, info, warn, error or off."},
         [](Settings& s, const std::string& v, std::string* why) {
             static const std::pair<const char*, LogLevel> levels[] = {
                 {"trace", LogLevel::kTrace}, {"debug", LogLevel::kDebug}, {"info", LogLevel::kInfo},
                 {"warn", LogLevel::kWarn},   {"error", LogLevel::kError}, {"off", LogLevel::kOff}};
             for (auto& [name, level] : levels) {
                 if (Lower(Trim(v)) == name) {
                     s.logLevel = level;
                     return true;
                 }
             }
             *why = "expected trace, debug, info, warn, error or off";
             return false;
         }},
        {{"log_file", "string", "", "Write the log to this file instead of stderr."},
         [](Settings& s, const std::string& v, std::string*) {
             s.logFile = Trim(v);
             return true;
         }},
        {{"algorithm", "string", "tlsf",
          "Block algorithm: tlsf, linear or buddy, optionally followed by per-memory-type overrides "
          "\"TYPE:ALGORITHM\", e.g. \"tlsf,2:linear\"."},
         [](Settings& s, const std::string& v, std::string* why) {
             Settings t = s;
             t.algorithmPerType = {};
             bool sawDefault = false;
             for (const std::string& item : Split(v, ',')) {
                 const auto colon = item.find(':');
                 core::Algorithm alg;
                 if (colon == std::string::npos) {
                     if (!ParseAlgorithmName(item, &alg)) {
                         *why = "unknown algorithm '" + item + "' (expected tlsf, linear or buddy)";
                         return false;
                     }
                     t.algorithm = alg;
                     sawDefault = true;
                 } else {
                     std::uint32_t type = 0;
                     if (!ParseMemoryTypeIndex(item.substr(0, colon), &type, why)) return false;
                     if (!ParseAlgorithmName(item.substr(colon + 1), &alg)) {
                         *why = "unknown algorithm '" + item.substr(colon + 1) + "' for memory type " +
                                std::to_string(type);
                         return false;
                     }
                     t.algorithmPerType[type] = alg;
                 }
             }
             if (!sawDefault && std::none_of(t.algorithmPerType.begin(), t.algorithmPerType.end(),
                                             [](const auto& a) { return a.has_value(); })) {
                 *why = "empty";
                 return false;
             }
             s = t;
             return true;
         }},
        {{"block_size", "size", "0",
          "Preferred block size in bytes (K/M/G suffixes allowed). 0: VMA's rule, 256 MiB or heap/8 for heaps up "
          "to 1 GiB."},
         [](Settings& s, const std::string& v, std::string* why) {
             std::uint64_t size = 0;
             if (!ParseSize(v, &size, why)) return false;
             if (size != 0 && size < 65536) {
                 *why = "must be 0 or at least 64 KiB";
                 return false;
             }
             s.blockSize = size;
             return true;
         }},
        {{"dedicated_threshold", "size", "0",
          "Allocations larger than this get their own VkDeviceMemory. 0: half the preferred block size."},
         [](Settings& s, const std::string& v, std::string* why) { return ParseSize(v, &s.dedicatedThreshold, why); }},
        {{"min_alignment", "size", "0", "Floor for every slice's alignment; a power of two (0: no floor)."},
         [](Settings& s, const std::string& v, std::string* why) {
             std::uint64_t a = 0;
             if (!ParseSize(v, &a, why)) return false;
             if (a != 0 && (a & (a - 1)) != 0) {
                 *why = "must be a power of two";
                 return false;
             }
             s.minAlignment = a;
             return true;
         }},
        {{"keep_empty_blocks", "uint", "1", "Empty blocks kept per pool as hysteresis (VMA keeps one)."},
         [](Settings& s, const std::string& v, std::string* why) {
             std::uint64_t n = 0;
             if (!ParseUint(v, 1024, &n, why)) return false;
             s.keepEmptyBlocks = static_cast<std::uint32_t>(n);
             return true;
         }},
        {{"empty_block_grace_ms", "uint", "1000",
          "Empty blocks beyond keep_empty_blocks are returned to the driver only after staying empty this many "
          "milliseconds (0: at once, VMA's rule), so a program that frees and reallocates (a level reload) reuses "
          "them. Over budget they are returned at once."},
         [](Settings& s, const std::string& v, std::string* why) {
             std::uint64_t n = 0;
             if (!ParseUint(v, 3600u * 1000u, &n, why)) return false;
             s.emptyBlockGraceMs = static_cast<std::uint32_t>(n);
             return true;
         }},
        {{"detect_corruption", "bool", "false",
          "Write VMA's magic value (0x7F84E666) into margins before and after every suballocation and check them "
          "when the memory is freed, at vkDeviceWaitIdle and at vkDestroyDevice; device-local memory is checked "
          "with transfer commands on a queue of the layer's own (or the app's, serialised)."},
         [](Settings& s, const std::string& v, std::string* why) { return ParseBool(v, &s.detectCorruption, why); }},
        {{"debug_margin", "size", "0",
          "Bytes of margin before and after every suballocation (a multiple of 4). 0 with detect_corruption: 64."},
         [](Settings& s, const std::string& v, std::string* why) {
             std::uint64_t n = 0;
             if (!ParseSize(v, &n, why)) return false;
             if (n % 4 != 0 || n > 65536) {
                 *why = "must be a multiple of 4, at most 64 KiB";
                 return false;
             }
             s.debugMargin = n;
             return true;
         }},
        {{"fill_allocations", "bool", "false",
          "Fill every new suballocation with 0xDC and every freed one with 0xEF (VMA's patterns), so reads of "
          "uninitialised or freed memory stand out."},
         [](Settings& s, const std::string& v, std::string* why) { return ParseBool(v, &s.fillAllocations, why); }},
        {{"pass_through", "string", "none",
          "Memory types that are never suballocated: none, all, or a list of type indices such as \"1,3\". "
          "true/false mean all/none."},
         [](Settings& s, const std::string& v, std::string* why) {
             const std::string l = Lower(Trim(v));
             bool b = false;
             std::string ignored;
             if (l == "all" || (ParseBool(l, &b, &ignored) && b)) {
                 s.passThroughAll = true;
                 s.passThroughTypes = 0;
                 return true;
             }
             if (l == "none" || ParseBool(l, &b, &ignored)) {
                 s.passThroughAll = false;
                 s.passThroughTypes = 0;
                 return true;
             }
             std::uint32_t mask = 0;
             for (const std::string& item : Split(l, ',')) {
                 std::uint32_t type = 0;
                 if (!ParseMemoryTypeIndex(item, &type, why)) return false;
                 mask |= 1u << type;
             }
             if (mask == 0) {
                 *why = "expected none, all or a list of memory type indices";
                 return false;
             }
             s.passThroughAll = false;
             s.passThroughTypes = mask;
             return true;
         }},
        {{"max_allocation_count", "uint", "0",
          "Advertise this maxMemoryAllocationCount to the application (pooled allocations do not count against "
          "the driver's limit). 0: report the driver's value."},
         [](Settings& s, const std::string& v, std::string* why) {
             std::uint64_t n = 0;
             if (!ParseUint(v, UINT32_MAX, &n, why)) return false;
             s.maxAllocationCount = static_cast<std::uint32_t>(n);
             return true;
         }},
        {{"dump_file", "string", "",
          "Write the state map (VMA's JSON dump, drawn by scripts/vma-dump-vis or GpuMemDumpVis.py) to this path "
          "when a dump_on event happens. %p becomes the process id, %n the dump's number in this process. Empty: "
          "no dumps."},
         [](Settings& s, const std::string& v, std::string*) {
             s.dumpFile = Trim(v);
             return true;
         }},
        {{"dump_on", "string", "destroy",
          "When to write dump_file, a comma list: destroy (at vkDestroyDevice, before the layer frees anything), "
          "oom (when an app allocation fails), idle (after every vkDeviceWaitIdle), present:N (after every N-th "
          "vkQueuePresentKHR)."},
         [](Settings& s, const std::string& v, std::string* why) {
             bool destroy = false, oom = false, idle = false;
             std::uint32_t presents = 0;
             for (const std::string& item : Split(Lower(v), ',')) {
                 std::uint64_t n = 0;
                 if (item == "destroy") {
                     destroy = true;
                 } else if (item == "oom") {
                     oom = true;
                 } else if (item == "idle") {
                     idle = true;
                 } else if (item.rfind("present:", 0) == 0 && ParseUint(item.substr(8), UINT32_MAX, &n, why) && n) {
                     presents = static_cast<std::uint32_t>(n);
                 } else {
                     *why = "unknown event '" + item + "' (expected destroy, oom, idle or present:N with N >= 1)";
                     return false;
                 }
             }
             if (!destroy && !oom && !idle && !presents) {
                 *why = "empty";
                 return false;
             }
             s.dumpOnDestroy = destroy;
             s.dumpOnOom = oom;
             s.dumpOnIdle = idle;
             s.dumpEveryPresents = presents;
             return true;
         }},
    };
    return defs;
}

void SetSource(Settings& s, const std::string& key, const char* source) {
    for (auto& [k, v] : s.sources) {
        if (k == key) {
            v = source;
            return;
        }
    }
    s.sources.emplace_back(key, source);
}

void ApplyValue(Settings& s, const SettingDef& def, const std::string& value, const char* source,
                std::vector<SettingsWarning>* warnings) {
    std::string why;
    if (def.apply(s, value, &why)) {
        SetSource(s, def.info.key, source);
    } else if (warnings) {
        warnings->push_back({std::string(kSettingsPrefix) + "." + def.info.key + " (" + source + ")", value, why});
    }
}

// Converts one VkLayerSettingEXT value array to the text form the parsers take.
std::optional<std::string> ApiValueToString(const VkLayerSettingEXT& setting) {
    if (setting.valueCount == 0 || setting.pValues == nullptr) return std::nullopt;
    std::string out;
    for (std::uint32_t i = 0; i < setting.valueCount; ++i) {
        if (i) out += ",";
        switch (setting.type) {
            case VK_LAYER_SETTING_TYPE_BOOL32_EXT:
                out += static_cast<const VkBool32*>(setting.pValues)[i] ? "true" : "false";
                break;
            case VK_LAYER_SETTING_TYPE_INT32_EXT:
                out += std::to_string(static_cast<const std::int32_t*>(setting.pValues)[i]);
                break;
            case VK_LAYER_SETTING_TYPE_INT64_EXT:
                out += std::to_string(static_cast<const std::int64_t*>(setting.pValues)[i]);
                break;
            case VK_LAYER_SETTING_TYPE_UINT32_EXT:
                out += std::to_string(static_cast<const std::uint32_t*>(setting.pValues)[i]);
                break;
            case VK_LAYER_SETTING_TYPE_UINT64_EXT:
                out += std::to_string(static_cast<const std::uint64_t*>(setting.pValues)[i]);
                break;
            case VK_LAYER_SETTING_TYPE_FLOAT32_EXT:
                out += std::to_string(static_cast<const float*>(setting.pValues)[i]);
                break;
            case VK_LAYER_SETTING_TYPE_FLOAT64_EXT:
                out += std::to_string(static_cast<const double*>(setting.pValues)[i]);
                break;
            case VK_LAYER_SETTING_TYPE_STRING_EXT: {
                const char* str = static_cast<const char* const*>(setting.pValues)[i];
                out += str ? str : "";
                break;
            }
            default:
                return std::nullopt;
        }
    }
    return out;
}

}  // namespace

const std::vector<SettingInfo>& AllSettings() {
    static const std::vector<SettingInfo> infos = [] {
        std::vector<SettingInfo> v;
        for (const auto& d : Definitions()) v.push_back(d.info);
        return v;
    }();
    return infos;
}

Settings LoadSettings(const VkInstanceCreateInfo* createInfo, std::vector<SettingsWarning>* warnings) {
    Settings s;
    const auto& defs = Definitions();

    // 1. VK_EXT_layer_settings structs (lowest precedence after the defaults).
    for (auto* p = createInfo ? static_cast<const VkBaseInStructure*>(createInfo->pNext) : nullptr; p; p = p->pNext) {
        if (p->sType != VK_STRUCTURE_TYPE_LAYER_SETTINGS_CREATE_INFO_EXT) continue;
        const auto* info = reinterpret_cast<const VkLayerSettingsCreateInfoEXT*>(p);
        for (std::uint32_t i = 0; i < info->settingCount && info->pSettings; ++i) {
            const VkLayerSettingEXT& setting = info->pSettings[i];
            if (!setting.pLayerName || std::string(setting.pLayerName) != kLayerName || !setting.pSettingName) continue;
            const std::string name = setting.pSettingName;
            auto it = std::find_if(defs.begin(), defs.end(), [&](const SettingDef& d) { return name == d.info.key; });
            if (it == defs.end()) {
                if (warnings) warnings->push_back({name + " (api)", "", "unknown setting"});
                continue;
            }
            auto value = ApiValueToString(setting);
            if (!value) {
                if (warnings) warnings->push_back({name + " (api)", "", "unsupported value type or no value"});
                continue;
            }
            ApplyValue(s, *it, *value, "api", warnings);
        }
    }

    // 2. The settings file, 3. environment variables (highest precedence).
    for (const auto& def : defs) {
        const std::string fileKey = std::string(kSettingsPrefix) + "." + def.info.key;
        const char* fileValue = getLayerOption(fileKey.c_str());
        if (fileValue && *fileValue) ApplyValue(s, def, fileValue, "file", warnings);

        std::string envName = std::string(kEnvPrefix) + def.info.key;
        std::transform(envName.begin(), envName.end(), envName.begin(),
                       [](unsigned char c) { return std::toupper(c); });
        const char* envValue = std::getenv(envName.c_str());
        if (envValue && *envValue) ApplyValue(s, def, envValue, "env", warnings);
    }
    return s;
}

std::string Settings::Describe() const {
    static const char* kAlgNames[] = {"tlsf", "linear", "buddy"};
    static const char* kLevelNames[] = {"trace", "debug", "info", "warn", "error", "off"};
    std::ostringstream o;
    o << "log_level=" << kLevelNames[static_cast<int>(logLevel)] << " algorithm=" << kAlgNames[static_cast<int>(algorithm)];
    for (std::uint32_t t = 0; t < kMaxMemoryTypes; ++t) {
        if (algorithmPerType[t]) o << "," << t << ":" << kAlgNames[static_cast<int>(*algorithmPerType[t])];
    }
    o << " block_size=" << blockSize << " dedicated_threshold=" << dedicatedThreshold
      << " min_alignment=" << minAlignment << " keep_empty_blocks=" << keepEmptyBlocks
      << " empty_block_grace_ms=" << emptyBlockGraceMs << " detect_corruption=" << (detectCorruption ? "true" : "false")
      << " debug_margin=" << debugMargin << " fill_allocations=" << (fillAllocations ? "true" : "false")
      << " pass_through=";
    if (passThroughAll) {
        o << "all";
    } else if (passThroughTypes == 0) {
        o << "none";
    } else {
        o << "0x" << std::hex << passThroughTypes << std::dec;
    }
    o << " max_allocation_count=" << maxAllocationCount;
    o << " dump_file=" << (dumpFile.empty() ? "(none)" : dumpFile) << " dump_on=";
    const char* separator = "";
    if (dumpOnDestroy) {
        o << "destroy";
        separator = ",";
    }
    if (dumpOnOom) {
        o << separator << "oom";
        separator = ",";
    }
    if (dumpOnIdle) {
        o << separator << "idle";
        separator = ",";
    }
    if (dumpEveryPresents) o << separator << "present:" << dumpEveryPresents;
    return o.str();
}

}  // namespace vma::layer
