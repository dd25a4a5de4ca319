// Settings parsing and precedence, without the loader: defaults < VK_EXT_layer_settings <
// settings file < environment. The file reader caches its file per process, so the file case runs
// settings_probe in a fresh process.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "settings.h"

using namespace vma::layer;

namespace {

class EnvGuard {
public:
    EnvGuard(const char* name, const char* value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        setenv(name, value, 1);
    }
    ~EnvGuard() {
        if (old_.empty()) unsetenv(name_.c_str());
        else setenv(name_.c_str(), old_.c_str(), 1);
    }

private:
    std::string name_, old_;
};

VkInstanceCreateInfo WithApiSettings(const VkLayerSettingsCreateInfoEXT* settings) {
    VkInstanceCreateInfo ci{};
    ci.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO;
    ci.pNext = settings;
    return ci;
}

std::string SourceOf(const Settings& s, const std::string& key) {
    for (auto& [k, v] : s.sources) {
        if (k == key) return v;
    }
    return "default";
}


}  // namespace

TEST(Settings, DefaultsWithoutAnySource) {
    std::vector<SettingsWarning> warnings;
    Settings s = LoadSettings(nullptr, &warnings);
    EXPECT_TRUE(warnings.empty());
    EXPECT_EQ(s.algorithm, vma::core::Algorithm::kTlsf);
    EXPECT_EQ(s.blockSize, 0u);
    EXPECT_EQ(s.keepEmptyBlocks, 1u);
    EXPECT_FALSE(s.passThroughAll);
    EXPECT_EQ(s.logLevel, LogLevel::kInfo);
}

TEST(Settings, EnvironmentParsesEveryKind) {
    EnvGuard a("VK_VMA_SUBALLOCATOR_ALGORITHM", "linear,2:buddy");
    EnvGuard b("VK_VMA_SUBALLOCATOR_BLOCK_SIZE", "64M");
    EnvGuard c("VK_VMA_SUBALLOCATOR_PASS_THROUGH", "1,3");
    EnvGuard d("VK_VMA_SUBALLOCATOR_MIN_ALIGNMENT", "4096");
    EnvGuard e("VK_VMA_SUBALLOCATOR_LOG_LEVEL", "warn");
    std::vector<SettingsWarning> warnings;
    Settings s = LoadSettings(nullptr, &warnings);
    EXPECT_TRUE(warnings.empty());
    EXPECT_EQ(s.algorithm, vma::core::Algorithm::kLinear);
    ASSERT_TRUE(s.algorithmPerType[2].has_value());
    EXPECT_EQ(*s.algorithmPerType[2], vma::core::Algorithm::kBuddy);
    EXPECT_FALSE(s.algorithmPerType[1].has_value());
    EXPECT_EQ(s.blockSize, 64ull << 20);
    EXPECT_EQ(s.passThroughTypes, (1u << 1) | (1u << 3));
    EXPECT_EQ(s.minAlignment, 4096u);
    EXPECT_EQ(s.logLevel, LogLevel::kWarn);
    EXPECT_EQ(SourceOf(s, "block_size"), "env");
}

TEST(Settings, BadValueWarnsNamingKeyAndValueAndKeepsDefault) {
    EnvGuard a("VK_VMA_SUBALLOCATOR_BLOCK_SIZE", "banana");
    EnvGuard b("VK_VMA_SUBALLOCATOR_MIN_ALIGNMENT", "100");
    EnvGuard c("VK_VMA_SUBALLOCATOR_ALGORITHM", "firstfit");
    std::vector<SettingsWarning> warnings;
    Settings s = LoadSettings(nullptr, &warnings);
    ASSERT_EQ(warnings.size(), 3u);
    bool sawBlock = false, sawAlign = false, sawAlg = false;
    for (const auto& w : warnings) {
        if (w.key.find("vma_suballocator.block_size") != std::string::npos && w.value == "banana") sawBlock = true;
        if (w.key.find("vma_suballocator.min_alignment") != std::string::npos && w.value == "100" &&
            w.reason.find("power of two") != std::string::npos)
            sawAlign = true;
        if (w.key.find("vma_suballocator.algorithm") != std::string::npos && w.value == "firstfit") sawAlg = true;
    }
    EXPECT_TRUE(sawBlock && sawAlign && sawAlg);
    EXPECT_EQ(s.blockSize, 0u);
    EXPECT_EQ(s.minAlignment, 0u);
    EXPECT_EQ(s.algorithm, vma::core::Algorithm::kTlsf);
}

TEST(Settings, ApiStructsApplyAndEnvironmentWins) {
    const char* passThrough = "all";
    const std::uint64_t blockSize = 8ull << 20;
    const char* wrongLayerValue = "buddy";
    VkLayerSettingEXT items[3] = {
        {"VK_LAYER_VMA_suballocator", "pass_through", VK_LAYER_SETTING_TYPE_STRING_EXT, 1, &passThrough},
        {"VK_LAYER_VMA_suballocator", "block_size", VK_LAYER_SETTING_TYPE_UINT64_EXT, 1, &blockSize},
        {"VK_LAYER_OTHER_layer", "algorithm", VK_LAYER_SETTING_TYPE_STRING_EXT, 1, &wrongLayerValue},
    };
    VkLayerSettingsCreateInfoEXT api{VK_STRUCTURE_TYPE_LAYER_SETTINGS_CREATE_INFO_EXT, nullptr, 3, items};
    VkInstanceCreateInfo ci = WithApiSettings(&api);
    {
        std::vector<SettingsWarning> warnings;
        Settings s = LoadSettings(&ci, &warnings);
        EXPECT_TRUE(warnings.empty());
        EXPECT_TRUE(s.passThroughAll);
        EXPECT_EQ(s.blockSize, blockSize);
        EXPECT_EQ(s.algorithm, vma::core::Algorithm::kTlsf);  // another layer's setting is not ours
        EXPECT_EQ(SourceOf(s, "pass_through"), "api");
    }
    EnvGuard env("VK_VMA_SUBALLOCATOR_PASS_THROUGH", "none");
    std::vector<SettingsWarning> warnings;
    Settings s = LoadSettings(&ci, &warnings);
    EXPECT_FALSE(s.passThroughAll);
    EXPECT_EQ(SourceOf(s, "pass_through"), "env");
    EXPECT_EQ(s.blockSize, blockSize);
}

TEST(Settings, FileBeatsApiAndEnvironmentBeatsFile) {
    char dir[] = "/tmp/vma_settings_XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    {
        std::ofstream f(std::string(dir) + "/vk_layer_settings.txt");
        f << "# test settings\n"
          << "vma_suballocator.block_size = 32M\n"
          << "vma_suballocator.keep_empty_blocks = 3\n"
          << "vma_suballocator.dedicated_threshold = nonsense\n";
    }
    // The probe (a fresh process: the file reader caches its file per process) sets block_size = 8 MiB
    // through VK_EXT_layer_settings.
    const std::string command = std::string("env VK_LAYER_SETTINGS_PATH=") + dir +
                                " VK_VMA_SUBALLOCATOR_KEEP_EMPTY_BLOCKS=5 " VMA_SETTINGS_PROBE;
    FILE* pipe = popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::string out;
    char buf[512];
    while (fgets(buf, sizeof(buf), pipe)) out += buf;
    ASSERT_EQ(pclose(pipe), 0);
    EXPECT_NE(out.find("block_size=33554432 file"), std::string::npos) << "the file must beat the API\n" << out;
    EXPECT_NE(out.find("keep_empty_blocks=5 env"), std::string::npos) << "the environment must beat the file\n" << out;
    EXPECT_NE(out.find("dedicated_threshold=0 default"), std::string::npos) << out;
    EXPECT_NE(out.find("warning vma_suballocator.dedicated_threshold (file) 'nonsense'"), std::string::npos) << out;
    std::remove((std::string(dir) + "/vk_layer_settings.txt").c_str());
    rmdir(dir);
}

TEST(Settings, EverySettingIsDocumented) {
    std::ifstream doc(VMA_SOURCE_DIR "/docs/settings.md");
    ASSERT_TRUE(doc.good()) << "docs/settings.md is missing";
    const std::string text((std::istreambuf_iterator<char>(doc)), std::istreambuf_iterator<char>());
    for (const auto& info : AllSettings()) {
        EXPECT_NE(text.find(std::string("`") + info.key + "`"), std::string::npos)
            << "docs/settings.md does not document " << info.key;
    }
}

TEST(Settings, DumpFileAndDumpOn) {
    std::vector<SettingsWarning> warnings;
    Settings s = LoadSettings(nullptr, &warnings);
    EXPECT_TRUE(s.dumpFile.empty()) << "no dumps unless asked";
    EXPECT_TRUE(s.dumpOnDestroy);
    EXPECT_FALSE(s.dumpOnOom);
    EXPECT_EQ(s.dumpEveryPresents, 0u);
    {
        EnvGuard file("VK_VMA_SUBALLOCATOR_DUMP_FILE", " /tmp/map_%p_%n.json ");
        EnvGuard on("VK_VMA_SUBALLOCATOR_DUMP_ON", "oom, Present:60");
        s = LoadSettings(nullptr, &warnings);
        EXPECT_TRUE(warnings.empty());
        EXPECT_EQ(s.dumpFile, "/tmp/map_%p_%n.json");
        EXPECT_FALSE(s.dumpOnDestroy) << "a list replaces the default";
        EXPECT_TRUE(s.dumpOnOom);
        EXPECT_EQ(s.dumpEveryPresents, 60u);
        EXPECT_NE(s.Describe().find("dump_on=oom,present:60"), std::string::npos) << s.Describe();
    }
    for (const char* bad : {"present:0", "present:", "present:x", "sometimes", ","}) {
        EnvGuard on("VK_VMA_SUBALLOCATOR_DUMP_ON", bad);
        warnings.clear();
        s = LoadSettings(nullptr, &warnings);
        ASSERT_EQ(warnings.size(), 1u) << bad;
        EXPECT_NE(warnings[0].key.find("dump_on"), std::string::npos);
        EXPECT_TRUE(s.dumpOnDestroy) << bad << ": the default stays";
        EXPECT_EQ(s.dumpEveryPresents, 0u) << bad;
    }
}

TEST(Settings, CorruptionAndGracePeriodSettings) {
    std::vector<SettingsWarning> warnings;
    Settings s = LoadSettings(nullptr, &warnings);
    EXPECT_FALSE(s.detectCorruption);
    EXPECT_FALSE(s.fillAllocations);
    EXPECT_EQ(s.debugMargin, 0u);
    EXPECT_EQ(s.emptyBlockGraceMs, 1000u);
    {
        EnvGuard detect("VK_VMA_SUBALLOCATOR_DETECT_CORRUPTION", "1");
        EnvGuard fill("VK_VMA_SUBALLOCATOR_FILL_ALLOCATIONS", "true");
        EnvGuard margin("VK_VMA_SUBALLOCATOR_DEBUG_MARGIN", "256");
        EnvGuard dumpOn("VK_VMA_SUBALLOCATOR_DUMP_ON", "idle");
        EnvGuard grace("VK_VMA_SUBALLOCATOR_EMPTY_BLOCK_GRACE_MS", "0");
        warnings.clear();
        s = LoadSettings(nullptr, &warnings);
        EXPECT_TRUE(warnings.empty());
        EXPECT_TRUE(s.detectCorruption);
        EXPECT_TRUE(s.fillAllocations);
        EXPECT_EQ(s.debugMargin, 256u);
        EXPECT_TRUE(s.dumpOnIdle);
        EXPECT_FALSE(s.dumpOnDestroy);
        EXPECT_EQ(s.emptyBlockGraceMs, 0u);
        EXPECT_NE(s.Describe().find("detect_corruption=true debug_margin=256 fill_allocations=true"), std::string::npos)
            << s.Describe();
    }
    // A margin must be whole 32-bit words (the magic value is written as words) and at most 64 KiB.
    for (const char* bad : {"6", "1M", "-4", "x"}) {
        EnvGuard margin("VK_VMA_SUBALLOCATOR_DEBUG_MARGIN", bad);
        warnings.clear();
        s = LoadSettings(nullptr, &warnings);
        ASSERT_EQ(warnings.size(), 1u) << bad;
        EXPECT_NE(warnings[0].key.find("debug_margin"), std::string::npos);
        EXPECT_EQ(s.debugMargin, 0u) << bad << ": the default stays";
    }
    for (const char* bad : {"maybe", "2"}) {
        EnvGuard detect("VK_VMA_SUBALLOCATOR_DETECT_CORRUPTION", bad);
        warnings.clear();
        s = LoadSettings(nullptr, &warnings);
        ASSERT_EQ(warnings.size(), 1u) << bad;
        EXPECT_FALSE(s.detectCorruption) << bad;
    }
    {
        EnvGuard grace("VK_VMA_SUBALLOCATOR_EMPTY_BLOCK_GRACE_MS", "99999999999");
        warnings.clear();
        s = LoadSettings(nullptr, &warnings);
        ASSERT_EQ(warnings.size(), 1u);
        EXPECT_EQ(s.emptyBlockGraceMs, 1000u);
    }
}
