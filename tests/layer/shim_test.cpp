// Layer tests with VK_LAYER_VMA_test_shim (tests/shim) enabled *below* VK_LAYER_VMA_suballocator:
// app → loader → VK_LAYER_VMA_suballocator → VK_LAYER_VMA_test_shim → lavapipe.
// The shim checks that every VkDeviceMemory reaching the driver was made by the driver, fakes a
// non-coherent memory type, an allocation-count limit and driver failures, and reports at
// vkDestroyDevice ("VMA_SHIM_REPORT live=.. allocations=.. frees=.. violations=..").
// Every test sets its environment before creating its own instance and device, since the layer
// and the shim read it at creation.
#include <gtest/gtest.h>

#include "vk_harness.h"
#include <vulkan/vulkan.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr const char* kShimVars[] = {
    "VMA_SHIM_ABORT_ON_VIOLATION", "VMA_SHIM_FAKE_NONCOHERENT", "VMA_SHIM_RANGE_LOG",
    "VMA_SHIM_MAX_ALLOCATION_COUNT", "VMA_SHIM_FAIL_ALLOCATION", "VMA_SHIM_FAIL_ALLOCATIONS_ABOVE",
    "VMA_SHIM_FAIL_FROM", "VMA_SHIM_FAIL_MAP", "VMA_SHIM_REPORT_FILE", "VMA_SHIM_MIN_ALIGNMENT",
    "VMA_SHIM_FAKE_DEVICE_LOCAL", "VK_VMA_SUBALLOCATOR_DETECT_CORRUPTION", "VK_VMA_SUBALLOCATOR_FILL_ALLOCATIONS",
    "VK_VMA_SUBALLOCATOR_LOG_FILE", "VK_VMA_SUBALLOCATOR_LOG_LEVEL",
};

std::string TempPath(const std::string& name) {
    std::string dir = VMA_SHIM_TEMP_DIR;
    std::string cmd = "mkdir -p '" + dir + "'";
    if (std::system(cmd.c_str()) != 0) dir = "/tmp";
    return dir + "/" + name + "." + std::to_string(getpid());
}

std::string ReadFile(const std::string& path) {
    std::ifstream f(path);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

struct Report {
    bool found = false;
    std::uint64_t live = 0, allocations = 0, frees = 0, violations = 0;
};

std::ostream& operator<<(std::ostream& o, const Report& r) {
    return o << "live=" << r.live << " allocations=" << r.allocations << " frees=" << r.frees
             << " violations=" << r.violations;
}

// The environment of one test: base loader variables, the layer order, the shim's variables
// (everything else of the shim's cleared), a fresh report file and range log.
struct ShimEnv {
    std::string reportFile;
    std::string rangeLog;

    explicit ShimEnv(bool withLayer = true) {
        const std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
        for (const char* v : kShimVars) unsetenv(v);
        setenv("VK_LAYER_PATH", withLayer ? VMA_SHIM_LAYER_PATH : VMA_SHIM_ONLY_LAYER_PATH, 1);
        setenv("VK_INSTANCE_LAYERS",
               withLayer ? "VK_LAYER_VMA_suballocator:VK_LAYER_VMA_test_shim" : "VK_LAYER_VMA_test_shim", 1);
        unsetenv("VK_LOADER_LAYERS_ENABLE");
        setenv("VK_DRIVER_FILES", "/usr/share/vulkan/icd.d/lvp_icd.x86_64.json", 1);
        setenv("NODEVICE_SELECT", "1", 1);
        // Violations are counted and asserted on through the report; death tests turn abort back on.
        setenv("VMA_SHIM_ABORT_ON_VIOLATION", "0", 1);
        reportFile = TempPath("shim_report_" + test);
        rangeLog = TempPath("shim_ranges_" + test);
        std::remove(reportFile.c_str());
        std::remove(rangeLog.c_str());
        setenv("VMA_SHIM_REPORT_FILE", reportFile.c_str(), 1);
    }
    ~ShimEnv() {
        std::remove(reportFile.c_str());
        std::remove(rangeLog.c_str());
    }
    void Set(const char* name, const std::string& value) { setenv(name, value.c_str(), 1); }

    Report ReadReport() const {
        Report r;
        const std::string text = ReadFile(reportFile);
        const auto pos = text.rfind("VMA_SHIM_REPORT ");
        if (pos == std::string::npos) return r;
        unsigned long long live, allocations, frees, violations;
        if (std::sscanf(text.c_str() + pos, "VMA_SHIM_REPORT live=%llu allocations=%llu frees=%llu violations=%llu",
                        &live, &allocations, &frees, &violations) == 4) {
            r = {true, live, allocations, frees, violations};
        }
        return r;
    }
};

// Instance + device on lavapipe, Vulkan 1.3, VK_EXT_debug_utils, privateData enabled (the layer
// tests' Context), with the shim tests' own helpers.
struct Gpu : vma::test::Context {
    bool HasDeviceExtension(const char* name) const { return Supports(physicalDevice, name); }

    std::uint32_t FindType(VkMemoryPropertyFlags want, VkMemoryPropertyFlags avoid = 0, std::uint32_t bits = ~0u) const {
        for (std::uint32_t i = 0; i < memoryProperties.memoryTypeCount; ++i) {
            const auto f = memoryProperties.memoryTypes[i].propertyFlags;
            if ((bits & (1u << i)) && (f & want) == want && !(f & avoid)) return i;
        }
        return UINT32_MAX;
    }

    VkResult Allocate(VkDeviceSize size, std::uint32_t type, VkDeviceMemory* memory, const void* pNext = nullptr) {
        return vma::test::AllocateMemory(device, size, type, pNext, memory);
    }
};

void Fill(void* p, std::size_t n, std::uint32_t seed) {
    auto* b = static_cast<std::uint8_t*>(p);
    for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>((i * 131u + seed * 7u + (i >> 8)) & 0xFF);
}

// Returns the index of the first mismatching byte, or SIZE_MAX.
std::size_t Verify(const void* p, std::size_t n, std::uint32_t seed) {
    const auto* b = static_cast<const std::uint8_t*>(p);
    for (std::size_t i = 0; i < n; ++i)
        if (b[i] != static_cast<std::uint8_t>((i * 131u + seed * 7u + (i >> 8)) & 0xFF)) return i;
    return SIZE_MAX;
}

// ------------------------------------------------------------------------------------------------

// The shim alone: it must catch a handle the driver did not make (a check for the checker).
TEST(ShimSelfTest, CountsAndRefusesForeignHandle) {
    ShimEnv env(/*withLayer=*/false);
    Gpu gpu;
    ASSERT_EQ(gpu.Create(), VK_SUCCESS);
    const auto forged = reinterpret_cast<VkDeviceMemory>(std::uintptr_t(0x5A00000100000001ull));
    vkFreeMemory(gpu.device, forged, nullptr);  // refused by the shim, never reaches lavapipe
    VkMemoryRequirements req{};
    VkBufferCreateInfo bi{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, nullptr, 0, 256, VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
                          VK_SHARING_MODE_EXCLUSIVE, 0, nullptr};
    VkBuffer buffer;
    ASSERT_EQ(vkCreateBuffer(gpu.device, &bi, nullptr, &buffer), VK_SUCCESS);
    vkGetBufferMemoryRequirements(gpu.device, buffer, &req);
    EXPECT_NE(vkBindBufferMemory(gpu.device, buffer, forged, 0), VK_SUCCESS);
    vkDestroyBuffer(gpu.device, buffer, nullptr);
    gpu.Destroy();
    const Report r = env.ReadReport();
    ASSERT_TRUE(r.found);
    EXPECT_EQ(r.violations, 2u) << r;
    EXPECT_EQ(r.live, 0u) << r;
}

TEST(ShimSelfTest, AbortsOnForeignHandleByDefault) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_DEATH(
        {
            ShimEnv env(/*withLayer=*/false);
            unsetenv("VMA_SHIM_ABORT_ON_VIOLATION");  // default: abort
            Gpu gpu;
            if (gpu.Create() != VK_SUCCESS) std::exit(3);
            vkFreeMemory(gpu.device, reinterpret_cast<VkDeviceMemory>(std::uintptr_t(0x1234)), nullptr);
            std::exit(0);
        },
        "VMA_SHIM_VIOLATION: vkFreeMemory got VkDeviceMemory 0x1234 not created by the driver");
}

TEST(ShimSelfTest, EnforcesAllocationLimit) {
    ShimEnv env(/*withLayer=*/false);
    env.Set("VMA_SHIM_MAX_ALLOCATION_COUNT", "64");
    Gpu gpu;
    ASSERT_EQ(gpu.Create(), VK_SUCCESS);
    EXPECT_EQ(gpu.properties.limits.maxMemoryAllocationCount, 64u);
    std::vector<VkDeviceMemory> memory(64);
    for (auto& m : memory) ASSERT_EQ(gpu.Allocate(256, 0, &m), VK_SUCCESS);
    VkDeviceMemory extra = VK_NULL_HANDLE;
    EXPECT_EQ(gpu.Allocate(256, 0, &extra), VK_ERROR_TOO_MANY_OBJECTS);
    for (auto m : memory) vkFreeMemory(gpu.device, m, nullptr);
    gpu.Destroy();
    const Report r = env.ReadReport();
    ASSERT_TRUE(r.found);
    EXPECT_EQ(r.violations, 1u) << r;
    EXPECT_EQ(r.allocations, 64u) << r;
    EXPECT_EQ(r.live, 0u) << r;
}

// ------------------------------------------------------------------------------------------------

// The shim is in the chain (its fake type is visible to the app) and below the layer (it sees a
// handful of blocks, not the app's allocations).
TEST(ShimLayerTest, ShimIsBelowTheLayer) {
    ShimEnv env;
    env.Set("VMA_SHIM_FAKE_NONCOHERENT", "1");
    Gpu gpu;
    ASSERT_EQ(gpu.Create(), VK_SUCCESS);
    ASSERT_GE(gpu.memoryProperties.memoryTypeCount, 2u);
    const std::uint32_t fake = gpu.memoryProperties.memoryTypeCount - 1;
    const auto flags = gpu.memoryProperties.memoryTypes[fake].propertyFlags;
    EXPECT_TRUE(flags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT);
    EXPECT_TRUE(flags & VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
    EXPECT_FALSE(flags & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
    VkPhysicalDeviceMemoryProperties2 props2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2, nullptr, {}};
    vkGetPhysicalDeviceMemoryProperties2(gpu.physicalDevice, &props2);
    EXPECT_EQ(props2.memoryProperties.memoryTypeCount, gpu.memoryProperties.memoryTypeCount);

    VkBufferCreateInfo bi{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, nullptr, 0, 1024, VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
                          VK_SHARING_MODE_EXCLUSIVE, 0, nullptr};
    VkBuffer buffer;
    ASSERT_EQ(vkCreateBuffer(gpu.device, &bi, nullptr, &buffer), VK_SUCCESS);
    VkMemoryRequirements req{};
    vkGetBufferMemoryRequirements(gpu.device, buffer, &req);
    EXPECT_TRUE(req.memoryTypeBits & (1u << fake)) << "memoryTypeBits " << req.memoryTypeBits;
    vkDestroyBuffer(gpu.device, buffer, nullptr);

    constexpr int kPerType = 1000;
    std::vector<VkDeviceMemory> memory;
    for (std::uint32_t type : {0u, fake}) {
        for (int i = 0; i < kPerType; ++i) {
            VkDeviceMemory m;
            ASSERT_EQ(gpu.Allocate(1024, type, &m), VK_SUCCESS) << "type " << type << " #" << i;
            memory.push_back(m);
        }
    }
    for (auto m : memory) vkFreeMemory(gpu.device, m, nullptr);
    gpu.DestroyDevice();
    const Report r = env.ReadReport();
    ASSERT_TRUE(r.found) << "no VMA_SHIM_REPORT: the shim is not in the chain";
    EXPECT_GE(r.allocations, 2u) << r;   // at least one block per type
    EXPECT_LE(r.allocations, 8u) << r;   // << 2000 app allocations: the shim is below the layer
    EXPECT_EQ(r.live, 0u) << r;
    EXPECT_EQ(r.violations, 0u) << r;
    EXPECT_EQ(gpu.Errors(), "");
}

TEST(ShimLayerTest, HundredThousandAllocationsUnderDriverLimit) {
    ShimEnv env;
    env.Set("VMA_SHIM_MAX_ALLOCATION_COUNT", "4096");
    Gpu gpu;
    ASSERT_EQ(gpu.Create(), VK_SUCCESS);
    EXPECT_EQ(gpu.properties.limits.maxMemoryAllocationCount, 4096u);
    constexpr int kCount = 100000;
    std::vector<VkDeviceMemory> memory(kCount, VK_NULL_HANDLE);
    for (int i = 0; i < kCount; ++i) {
        const VkDeviceSize size = 256 + (VkDeviceSize(i) * 2654435761u) % (4096 - 256 + 1);
        const VkResult r = gpu.Allocate(size, 0, &memory[i]);
        ASSERT_EQ(r, VK_SUCCESS) << "allocation #" << i << " of " << size << " bytes";
    }
    for (int i = 0; i < kCount; i += 2) vkFreeMemory(gpu.device, memory[i], nullptr);
    for (int i = 1; i < kCount; i += 2) vkFreeMemory(gpu.device, memory[i], nullptr);
    gpu.DestroyDevice();
    const Report r = env.ReadReport();
    ASSERT_TRUE(r.found);
    EXPECT_EQ(r.live, 0u) << r;
    EXPECT_EQ(r.violations, 0u) << r;
    EXPECT_GE(r.allocations, 1u) << r;
    EXPECT_LE(r.allocations, 48u) << r;
    EXPECT_EQ(gpu.Errors(), "");
}

// ------------------------------------------------------------------------------------------------
// Non-coherent memory: every flush/invalidate range reaching the driver is atom-aligned, inside
// the block, covers the app's range and stays inside the app's slice (rounded to atoms).

struct LoggedRange {
    std::string kind;  // flush | invalidate
    std::uint64_t memory;
    std::uint64_t offset;
    std::int64_t size;  // -1: VK_WHOLE_SIZE
};

struct LoggedMap {
    std::uint64_t memory, offset, size, pointer;
};

struct RangeLog {
    std::vector<LoggedRange> ranges;
    std::vector<LoggedMap> maps;
};

RangeLog ParseRangeLog(const std::string& path) {
    RangeLog log;
    std::istringstream in(ReadFile(path));
    std::string line;
    while (std::getline(in, line)) {
        char kind[32];
        unsigned long long a, b, c;
        long long s;
        if (std::sscanf(line.c_str(), "map %llx %llu %llu %llx", &a, &b, &c, reinterpret_cast<unsigned long long*>(&s)) == 4) {
            log.maps.push_back({a, b, c, static_cast<std::uint64_t>(s)});
        } else if (std::sscanf(line.c_str(), "%31s %llx %llu %lld", kind, &a, &b, &s) == 4) {
            log.ranges.push_back({kind, a, b, s});
        }
    }
    return log;
}

struct Slice {
    VkDeviceMemory handle = VK_NULL_HANDLE;
    VkDeviceSize size = 0;
    std::uint8_t* whole = nullptr;  // pointer when mapped at offset 0
    // Derived from the shim's map log: the block and the slice's offset inside it.
    std::uint64_t block = 0;
    std::uint64_t blockSize = 0;
    std::uint64_t offset = 0;
};

TEST(ShimLayerTest, NonCoherentFlushAndInvalidateRanges) {
    ShimEnv env;
    env.Set("VMA_SHIM_FAKE_NONCOHERENT", "1");
    env.Set("VMA_SHIM_RANGE_LOG", env.rangeLog);
    Gpu gpu;
    ASSERT_EQ(gpu.Create(), VK_SUCCESS);
    const std::uint32_t fake = gpu.FindType(VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT, VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
    ASSERT_NE(fake, UINT32_MAX) << "the shim's non-coherent type is not visible";
    const VkDeviceSize atom = gpu.properties.limits.nonCoherentAtomSize;
    ASSERT_GT(atom, 1u);

    const VkDeviceSize sizes[] = {100, 1000, 3000, 64, 4097, 100};
    std::vector<Slice> slices;
    for (VkDeviceSize s : sizes) {
        Slice slice;
        slice.size = s;
        ASSERT_EQ(gpu.Allocate(s, fake, &slice.handle), VK_SUCCESS);
        slices.push_back(slice);
    }
    // Map each whole slice once to learn where it lives (the block's mapping is in the log).
    for (std::size_t i = 0; i < slices.size(); ++i) {
        void* p = nullptr;
        ASSERT_EQ(vkMapMemory(gpu.device, slices[i].handle, 0, VK_WHOLE_SIZE, 0, &p), VK_SUCCESS);
        slices[i].whole = static_cast<std::uint8_t*>(p);
        Fill(p, slices[i].size, static_cast<std::uint32_t>(i));
    }
    {
        const RangeLog log = ParseRangeLog(env.rangeLog);
        for (auto& s : slices) {
            const auto p = reinterpret_cast<std::uint64_t>(s.whole);
            for (const auto& m : log.maps) {
                if (p >= m.pointer && p < m.pointer + m.size) {
                    s.block = m.memory;
                    s.blockSize = m.offset + m.size;
                    s.offset = m.offset + (p - m.pointer);
                }
            }
            ASSERT_NE(s.block, 0u) << "slice not inside any mapping the driver made (pointer " << s.whole << ")";
            EXPECT_EQ(s.offset % atom, 0u) << "slice base not atom-aligned";
        }
    }
    // Slices never share an atom.
    for (std::size_t i = 0; i < slices.size(); ++i) {
        for (std::size_t j = 0; j < slices.size(); ++j) {
            if (i == j || slices[i].block != slices[j].block) continue;
            const auto iEnd = (slices[i].offset + slices[i].size + atom - 1) / atom * atom;
            EXPECT_FALSE(slices[j].offset < iEnd && slices[j].offset + slices[j].size > slices[i].offset)
                << "slices " << i << " and " << j << " share atoms";
        }
    }

    std::size_t consumed = ParseRangeLog(env.rangeLog).ranges.size();
    // Runs one app call with one range and checks what reached the driver.
    auto check = [&](bool flush, std::size_t index, VkDeviceSize offset, VkDeviceSize size, VkDeviceSize appBegin,
                     VkDeviceSize appEnd, const char* what) {
        const Slice& s = slices[index];
        VkMappedMemoryRange range{VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE, nullptr, s.handle, offset, size};
        const VkResult r = flush ? vkFlushMappedMemoryRanges(gpu.device, 1, &range)
                                 : vkInvalidateMappedMemoryRanges(gpu.device, 1, &range);
        EXPECT_EQ(r, VK_SUCCESS) << what;
        const RangeLog log = ParseRangeLog(env.rangeLog);
        ASSERT_EQ(log.ranges.size(), consumed + 1) << what << ": expected exactly one range at the driver";
        const LoggedRange& got = log.ranges[consumed];
        consumed = log.ranges.size();
        SCOPED_TRACE(std::string(what) + " on slice " + std::to_string(index) + " (size " + std::to_string(s.size) +
                     " at block offset " + std::to_string(s.offset) + "): driver got offset " +
                     std::to_string(got.offset) + " size " + std::to_string(got.size));
        EXPECT_EQ(got.kind, flush ? "flush" : "invalidate");
        EXPECT_EQ(got.memory, s.block);
        ASSERT_NE(got.size, -1) << "VK_WHOLE_SIZE reached the driver for a block";
        const std::uint64_t begin = got.offset, end = got.offset + std::uint64_t(got.size);
        EXPECT_EQ(begin % atom, 0u);
        EXPECT_TRUE(got.size % atom == 0 || end == s.blockSize);
        EXPECT_LE(end, s.blockSize);
        // Covers the app range ...
        EXPECT_LE(begin, s.offset + appBegin);
        EXPECT_GE(end, s.offset + appEnd);
        // ... and goes no further than atom rounding.
        EXPECT_GE(begin, (s.offset + appBegin) / atom * atom);
        EXPECT_LE(end, (s.offset + appEnd + atom - 1) / atom * atom);
        for (std::size_t j = 0; j < slices.size(); ++j) {
            if (j == index || slices[j].block != s.block) continue;
            EXPECT_FALSE(begin < slices[j].offset + slices[j].size && end > slices[j].offset)
                << "range reaches into slice " << j;
        }
    };

    for (bool flush : {true, false}) {
        for (std::size_t i = 0; i < slices.size(); ++i) {
            const VkDeviceSize n = slices[i].size;
            check(flush, i, 0, VK_WHOLE_SIZE, 0, n, "whole mapping, VK_WHOLE_SIZE");
            check(flush, i, 0, n, 0, n, "offset 0, size = allocation size (unaligned end)");
            if (n > atom) check(flush, i, atom, n - atom, atom, n, "offset atom, to the allocation end");
            if (n > atom) check(flush, i, 0, atom, 0, atom, "first atom");
        }
    }
    // Several ranges in one call, across slices.
    {
        std::vector<VkMappedMemoryRange> ranges;
        for (const auto& s : slices)
            ranges.push_back({VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE, nullptr, s.handle, 0, VK_WHOLE_SIZE});
        EXPECT_EQ(vkFlushMappedMemoryRanges(gpu.device, static_cast<std::uint32_t>(ranges.size()), ranges.data()),
                  VK_SUCCESS);
        EXPECT_EQ(vkInvalidateMappedMemoryRanges(gpu.device, static_cast<std::uint32_t>(ranges.size()), ranges.data()),
                  VK_SUCCESS);
        const RangeLog log = ParseRangeLog(env.rangeLog);
        ASSERT_EQ(log.ranges.size(), consumed + 2 * slices.size());
        for (std::size_t k = 0; k < 2 * slices.size(); ++k) {
            const auto& got = log.ranges[consumed + k];
            const Slice& s = slices[k % slices.size()];
            EXPECT_EQ(got.memory, s.block);
            EXPECT_EQ(got.offset, s.offset);
            EXPECT_EQ(std::uint64_t(got.size), (s.size + atom - 1) / atom * atom);
        }
        consumed = log.ranges.size();
    }
    // Data survives every invalidate (lavapipe's memory is coherent underneath).
    for (std::size_t i = 0; i < slices.size(); ++i) {
        EXPECT_EQ(Verify(slices[i].whole, slices[i].size, static_cast<std::uint32_t>(i)), SIZE_MAX) << "slice " << i;
        vkUnmapMemory(gpu.device, slices[i].handle);
    }
    // Mapped sub-ranges: map at offset 128, flush/invalidate VK_WHOLE_SIZE and an atom inside.
    for (std::size_t i = 0; i < slices.size(); ++i) {
        const VkDeviceSize n = slices[i].size;
        if (n <= 2 * atom) continue;
        void* p = nullptr;
        ASSERT_EQ(vkMapMemory(gpu.device, slices[i].handle, 2 * atom, VK_WHOLE_SIZE, 0, &p), VK_SUCCESS);
        EXPECT_EQ(static_cast<std::uint8_t*>(p), slices[i].whole + 2 * atom);
        Fill(p, n - 2 * atom, 100 + static_cast<std::uint32_t>(i));
        for (bool flush : {true, false}) {
            check(flush, i, 2 * atom, VK_WHOLE_SIZE, 2 * atom, n, "mapped at 128, VK_WHOLE_SIZE");
            check(flush, i, 2 * atom, n - 2 * atom, 2 * atom, n, "mapped at 128, explicit to the end");
            if (n > 3 * atom) check(flush, i, 2 * atom, atom, 2 * atom, 3 * atom, "mapped at 128, one atom");
        }
        EXPECT_EQ(Verify(p, n - 2 * atom, 100 + static_cast<std::uint32_t>(i)), SIZE_MAX) << "slice " << i;
        vkUnmapMemory(gpu.device, slices[i].handle);
        // Mapped with an explicit size that ends inside the allocation: WHOLE_SIZE means the mapping end.
        const VkDeviceSize mapSize = std::min<VkDeviceSize>(n - 2 * atom, atom + 10);
        ASSERT_EQ(vkMapMemory(gpu.device, slices[i].handle, 2 * atom, mapSize, 0, &p), VK_SUCCESS);
        if ((2 * atom + mapSize) % atom == 0 || 2 * atom + mapSize == n) {
            check(true, i, 2 * atom, VK_WHOLE_SIZE, 2 * atom, 2 * atom + mapSize, "explicit mapping, VK_WHOLE_SIZE");
        }
        check(true, i, 2 * atom, atom, 2 * atom, 3 * atom, "explicit mapping, first atom");
        vkUnmapMemory(gpu.device, slices[i].handle);
    }
    // Earlier data of the first bytes is still there.
    for (std::size_t i = 0; i < slices.size(); ++i) {
        void* p = nullptr;
        ASSERT_EQ(vkMapMemory(gpu.device, slices[i].handle, 0, VK_WHOLE_SIZE, 0, &p), VK_SUCCESS);
        const VkDeviceSize n = slices[i].size;
        const VkDeviceSize head = n <= 2 * atom ? n : 2 * atom;
        EXPECT_EQ(Verify(p, head, static_cast<std::uint32_t>(i)), SIZE_MAX) << "slice " << i;
        if (n > 2 * atom) {
            EXPECT_EQ(Verify(static_cast<std::uint8_t*>(p) + 2 * atom, n - 2 * atom, 100 + static_cast<std::uint32_t>(i)),
                      SIZE_MAX)
                << "slice " << i;
        }
        vkUnmapMemory(gpu.device, slices[i].handle);
    }
    for (auto& s : slices) vkFreeMemory(gpu.device, s.handle, nullptr);
    gpu.DestroyDevice();
    const Report r = env.ReadReport();
    ASSERT_TRUE(r.found);
    EXPECT_EQ(r.live, 0u) << r;
    EXPECT_EQ(r.violations, 0u) << r;
    EXPECT_EQ(gpu.Errors(), "");
}

// ------------------------------------------------------------------------------------------------
// Injected driver failures.

TEST(ShimLayerTest, FirstDriverAllocationFails) {
    ShimEnv env;
    env.Set("VMA_SHIM_FAIL_ALLOCATION", "1");
    Gpu gpu;
    ASSERT_EQ(gpu.Create(), VK_SUCCESS);
    VkDeviceMemory m = VK_NULL_HANDLE;
    const VkResult result = gpu.Allocate(4096, 0, &m);
    ASSERT_TRUE(result == VK_SUCCESS || result == VK_ERROR_OUT_OF_DEVICE_MEMORY) << result;
    if (result == VK_SUCCESS) {
        void* p = nullptr;
        ASSERT_EQ(vkMapMemory(gpu.device, m, 0, VK_WHOLE_SIZE, 0, &p), VK_SUCCESS);
        Fill(p, 4096, 1);
        EXPECT_EQ(Verify(p, 4096, 1), SIZE_MAX);
        vkUnmapMemory(gpu.device, m);
        vkFreeMemory(gpu.device, m, nullptr);
    }
    gpu.DestroyDevice();
    const Report r = env.ReadReport();
    ASSERT_TRUE(r.found);
    EXPECT_EQ(r.live, 0u) << r;
    EXPECT_EQ(r.violations, 0u) << r;
    if (result == VK_SUCCESS) {
        EXPECT_GE(r.allocations, 1u) << r;
    }
}

TEST(ShimLayerTest, EveryDriverAllocationFails) {
    ShimEnv env;
    env.Set("VMA_SHIM_FAIL_ALLOCATIONS_ABOVE", "0");
    Gpu gpu;
    ASSERT_EQ(gpu.Create(), VK_SUCCESS);
    for (VkDeviceSize size : {VkDeviceSize(256), VkDeviceSize(64 << 10), VkDeviceSize(512u << 20)}) {
        VkDeviceMemory m = VK_NULL_HANDLE;
        EXPECT_EQ(gpu.Allocate(size, 0, &m), VK_ERROR_OUT_OF_DEVICE_MEMORY) << size << " bytes";
    }
    gpu.DestroyDevice();
    const Report r = env.ReadReport();
    ASSERT_TRUE(r.found);
    EXPECT_EQ(r.allocations, 0u) << r;
    EXPECT_EQ(r.live, 0u) << r;
    EXPECT_EQ(r.violations, 0u) << r;
}

// The first block succeeds; from the second driver allocation on, every one fails. Allocations
// made before keep their data; nothing leaks.
TEST(ShimLayerTest, DriverAllocationsFailAfterFirstBlock) {
    ShimEnv env;
    env.Set("VMA_SHIM_FAIL_ALLOCATIONS_ABOVE", "0");
    env.Set("VMA_SHIM_FAIL_FROM", "2");
    Gpu gpu;
    ASSERT_EQ(gpu.Create(), VK_SUCCESS);
    constexpr VkDeviceSize kSmall = 64 << 10;
    std::vector<VkDeviceMemory> before(32);
    for (std::size_t i = 0; i < before.size(); ++i) {
        ASSERT_EQ(gpu.Allocate(kSmall, 0, &before[i]), VK_SUCCESS) << i;
        void* p = nullptr;
        ASSERT_EQ(vkMapMemory(gpu.device, before[i], 0, VK_WHOLE_SIZE, 0, &p), VK_SUCCESS);
        Fill(p, kSmall, static_cast<std::uint32_t>(i));
        vkUnmapMemory(gpu.device, before[i]);
    }
    VkDeviceMemory big = VK_NULL_HANDLE;
    EXPECT_EQ(gpu.Allocate(VkDeviceSize(512u) << 20, 0, &big), VK_ERROR_OUT_OF_DEVICE_MEMORY);
    // Fill the first block until the layer needs another one, which the driver refuses.
    std::vector<VkDeviceMemory> more;
    VkResult last = VK_SUCCESS;
    for (int i = 0; i < 4096 && last == VK_SUCCESS; ++i) {
        VkDeviceMemory m = VK_NULL_HANDLE;
        last = gpu.Allocate(1 << 20, 0, &m);
        if (last == VK_SUCCESS) more.push_back(m);
    }
    EXPECT_EQ(last, VK_ERROR_OUT_OF_DEVICE_MEMORY) << "after " << more.size() << " MiB";
    for (std::size_t i = 0; i < before.size(); ++i) {
        void* p = nullptr;
        ASSERT_EQ(vkMapMemory(gpu.device, before[i], 0, VK_WHOLE_SIZE, 0, &p), VK_SUCCESS);
        EXPECT_EQ(Verify(p, kSmall, static_cast<std::uint32_t>(i)), SIZE_MAX) << "allocation " << i;
        vkUnmapMemory(gpu.device, before[i]);
    }
    for (auto m : more) vkFreeMemory(gpu.device, m, nullptr);
    for (auto m : before) vkFreeMemory(gpu.device, m, nullptr);
    gpu.DestroyDevice();
    const Report r = env.ReadReport();
    ASSERT_TRUE(r.found);
    EXPECT_EQ(r.allocations, 1u) << r;
    EXPECT_EQ(r.live, 0u) << r;
    EXPECT_EQ(r.violations, 0u) << r;
}

TEST(ShimLayerTest, FirstBlockMapFails) {
    ShimEnv env;
    env.Set("VMA_SHIM_FAIL_MAP", "1");
    Gpu gpu;
    ASSERT_EQ(gpu.Create(), VK_SUCCESS);
    VkDeviceMemory m = VK_NULL_HANDLE;
    const VkResult result = gpu.Allocate(4096, 0, &m);
    ASSERT_TRUE(result == VK_SUCCESS || result == VK_ERROR_OUT_OF_DEVICE_MEMORY ||
                result == VK_ERROR_MEMORY_MAP_FAILED)
        << result;
    if (result == VK_SUCCESS) {
        void* p = nullptr;
        ASSERT_EQ(vkMapMemory(gpu.device, m, 0, VK_WHOLE_SIZE, 0, &p), VK_SUCCESS);
        Fill(p, 4096, 2);
        EXPECT_EQ(Verify(p, 4096, 2), SIZE_MAX);
        vkUnmapMemory(gpu.device, m);
        vkFreeMemory(gpu.device, m, nullptr);
    }
    gpu.DestroyDevice();
    const Report r = env.ReadReport();
    ASSERT_TRUE(r.found);
    EXPECT_EQ(r.live, 0u) << r;
    EXPECT_EQ(r.violations, 0u) << r;
}

// A dedicated allocation is the layer's own driver object, mapped on demand: the app sees the
// driver's map failure as its VkResult and can map again afterwards.
TEST(ShimLayerTest, OwnMemoryMapFailureReachesApp) {
    ShimEnv env;
    env.Set("VMA_SHIM_FAIL_MAP", "1");
    Gpu gpu;
    ASSERT_EQ(gpu.Create(), VK_SUCCESS);
    VkBufferCreateInfo bi{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, nullptr, 0, 65536, VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
                          VK_SHARING_MODE_EXCLUSIVE, 0, nullptr};
    VkBuffer buffer;
    ASSERT_EQ(vkCreateBuffer(gpu.device, &bi, nullptr, &buffer), VK_SUCCESS);
    VkMemoryRequirements req{};
    vkGetBufferMemoryRequirements(gpu.device, buffer, &req);
    VkMemoryDedicatedAllocateInfo dedicated{VK_STRUCTURE_TYPE_MEMORY_DEDICATED_ALLOCATE_INFO, nullptr, VK_NULL_HANDLE,
                                            buffer};
    VkDeviceMemory m = VK_NULL_HANDLE;
    ASSERT_EQ(gpu.Allocate(req.size, gpu.FindType(VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT, 0, req.memoryTypeBits), &m,
                           &dedicated),
              VK_SUCCESS);
    void* p = nullptr;
    EXPECT_EQ(vkMapMemory(gpu.device, m, 0, VK_WHOLE_SIZE, 0, &p), VK_ERROR_MEMORY_MAP_FAILED);
    ASSERT_EQ(vkMapMemory(gpu.device, m, 0, VK_WHOLE_SIZE, 0, &p), VK_SUCCESS);
    Fill(p, req.size, 3);
    EXPECT_EQ(Verify(p, req.size, 3), SIZE_MAX);
    vkUnmapMemory(gpu.device, m);
    EXPECT_EQ(vkBindBufferMemory(gpu.device, buffer, m, 0), VK_SUCCESS);
    vkDestroyBuffer(gpu.device, buffer, nullptr);
    vkFreeMemory(gpu.device, m, nullptr);
    gpu.DestroyDevice();
    const Report r = env.ReadReport();
    ASSERT_TRUE(r.found);
    EXPECT_EQ(r.live, 0u) << r;
    EXPECT_EQ(r.violations, 0u) << r;
}

// ------------------------------------------------------------------------------------------------
// Every carrier of VkDeviceMemory lavapipe supports, for pooled and own (dedicated) memory.

TEST(ShimLayerTest, NoVirtualHandleReachesDriver) {
    ShimEnv env;
    env.Set("VMA_SHIM_FAKE_NONCOHERENT", "1");
    Gpu gpu;
    ASSERT_EQ(gpu.CreateInstance(), VK_SUCCESS);
    const bool fdExport = gpu.HasDeviceExtension(VK_KHR_EXTERNAL_MEMORY_FD_EXTENSION_NAME);
    std::vector<const char*> extensions;
    if (fdExport) extensions.push_back(VK_KHR_EXTERNAL_MEMORY_FD_EXTENSION_NAME);
    ASSERT_EQ(gpu.CreateDevice(extensions), VK_SUCCESS);
    VkDevice dev = gpu.device;
    auto setName = reinterpret_cast<PFN_vkSetDebugUtilsObjectNameEXT>(
        vkGetDeviceProcAddr(dev, "vkSetDebugUtilsObjectNameEXT"));
    auto setTag = reinterpret_cast<PFN_vkSetDebugUtilsObjectTagEXT>(vkGetDeviceProcAddr(dev, "vkSetDebugUtilsObjectTagEXT"));
    ASSERT_NE(setName, nullptr);
    const std::uint32_t hostType = gpu.FindType(VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
    const std::uint32_t fakeType = gpu.FindType(VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT, VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
    ASSERT_NE(hostType, UINT32_MAX);
    ASSERT_NE(fakeType, UINT32_MAX);

    VkPrivateDataSlotCreateInfo psi{VK_STRUCTURE_TYPE_PRIVATE_DATA_SLOT_CREATE_INFO, nullptr, 0};
    VkPrivateDataSlot slot;
    ASSERT_EQ(vkCreatePrivateDataSlot(dev, &psi, nullptr, &slot), VK_SUCCESS);

    std::vector<VkDeviceMemory> memories;
    auto touch = [&](VkDeviceMemory m, const char* name, std::uint64_t value) {
        VkDebugUtilsObjectNameInfoEXT ni{VK_STRUCTURE_TYPE_DEBUG_UTILS_OBJECT_NAME_INFO_EXT, nullptr,
                                         VK_OBJECT_TYPE_DEVICE_MEMORY, reinterpret_cast<std::uint64_t>(m), name};
        EXPECT_EQ(setName(dev, &ni), VK_SUCCESS) << name;
        if (setTag) {
            const std::uint32_t tag = 7;
            VkDebugUtilsObjectTagInfoEXT ti{VK_STRUCTURE_TYPE_DEBUG_UTILS_OBJECT_TAG_INFO_EXT, nullptr,
                                            VK_OBJECT_TYPE_DEVICE_MEMORY, reinterpret_cast<std::uint64_t>(m), 1,
                                            sizeof(tag), &tag};
            EXPECT_EQ(setTag(dev, &ti), VK_SUCCESS) << name;
        }
        EXPECT_EQ(vkSetPrivateData(dev, VK_OBJECT_TYPE_DEVICE_MEMORY, reinterpret_cast<std::uint64_t>(m), slot, value),
                  VK_SUCCESS)
            << name;
        std::uint64_t got = 0;
        vkGetPrivateData(dev, VK_OBJECT_TYPE_DEVICE_MEMORY, reinterpret_cast<std::uint64_t>(m), slot, &got);
        EXPECT_EQ(got, value) << name;
    };

    // Buffers: vkBindBufferMemory and vkBindBufferMemory2, pooled (coherent and fake) and dedicated.
    VkBufferCreateInfo bi{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, nullptr, 0, 4096,
                          VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT |
                              VK_BUFFER_USAGE_STORAGE_BUFFER_BIT,
                          VK_SHARING_MODE_EXCLUSIVE, 0, nullptr};
    std::vector<VkBuffer> buffers(6);
    for (auto& b : buffers) ASSERT_EQ(vkCreateBuffer(dev, &bi, nullptr, &b), VK_SUCCESS);
    VkMemoryRequirements breq{};
    vkGetBufferMemoryRequirements(dev, buffers[0], &breq);
    VkBufferMemoryRequirementsInfo2 bri{VK_STRUCTURE_TYPE_BUFFER_MEMORY_REQUIREMENTS_INFO_2, nullptr, buffers[1]};
    VkMemoryRequirements2 breq2{VK_STRUCTURE_TYPE_MEMORY_REQUIREMENTS_2, nullptr, {}};
    vkGetBufferMemoryRequirements2(dev, &bri, &breq2);
    ASSERT_TRUE(breq.memoryTypeBits & (1u << fakeType));
    for (std::size_t i = 2; i < buffers.size(); ++i) vkGetBufferMemoryRequirements(dev, buffers[i], &breq);
    const VkDeviceSize stride = (breq.size + breq.alignment - 1) / breq.alignment * breq.alignment;

    VkDeviceMemory pooledHost, pooledFake, dedicatedBuf;
    ASSERT_EQ(gpu.Allocate(2 * stride, hostType, &pooledHost), VK_SUCCESS);
    ASSERT_EQ(gpu.Allocate(2 * stride, fakeType, &pooledFake), VK_SUCCESS);
    VkMemoryDedicatedAllocateInfo dedBuf{VK_STRUCTURE_TYPE_MEMORY_DEDICATED_ALLOCATE_INFO, nullptr, VK_NULL_HANDLE,
                                         buffers[4]};
    ASSERT_EQ(gpu.Allocate(breq.size, hostType, &dedicatedBuf, &dedBuf), VK_SUCCESS);
    memories.insert(memories.end(), {pooledHost, pooledFake, dedicatedBuf});
    EXPECT_EQ(vkBindBufferMemory(dev, buffers[0], pooledHost, 0), VK_SUCCESS);
    EXPECT_EQ(vkBindBufferMemory(dev, buffers[1], pooledHost, stride), VK_SUCCESS);
    VkBindBufferMemoryInfo bbi[3] = {
        {VK_STRUCTURE_TYPE_BIND_BUFFER_MEMORY_INFO, nullptr, buffers[2], pooledFake, 0},
        {VK_STRUCTURE_TYPE_BIND_BUFFER_MEMORY_INFO, nullptr, buffers[3], pooledFake, stride},
        {VK_STRUCTURE_TYPE_BIND_BUFFER_MEMORY_INFO, nullptr, buffers[4], dedicatedBuf, 0},
    };
    EXPECT_EQ(vkBindBufferMemory2(dev, 3, bbi), VK_SUCCESS);

    // Images: vkBindImageMemory and vkBindImageMemory2, pooled and dedicated.
    VkImageCreateInfo ii = vma::test::ImageInfo64(VK_IMAGE_TILING_OPTIMAL,
                                                  VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT);
    std::vector<VkImage> images(3);
    for (auto& im : images) ASSERT_EQ(vkCreateImage(dev, &ii, nullptr, &im), VK_SUCCESS);
    VkMemoryRequirements ireq{};
    vkGetImageMemoryRequirements(dev, images[0], &ireq);
    VkImageMemoryRequirementsInfo2 iri{VK_STRUCTURE_TYPE_IMAGE_MEMORY_REQUIREMENTS_INFO_2, nullptr, images[1]};
    VkMemoryRequirements2 ireq2{VK_STRUCTURE_TYPE_MEMORY_REQUIREMENTS_2, nullptr, {}};
    vkGetImageMemoryRequirements2(dev, &iri, &ireq2);
    vkGetImageMemoryRequirements(dev, images[2], &ireq);
    const std::uint32_t imageType = gpu.FindType(0, 0, ireq.memoryTypeBits);
    VkDeviceMemory imageMem1, imageMem2, dedicatedImg;
    ASSERT_EQ(gpu.Allocate(ireq.size, imageType, &imageMem1), VK_SUCCESS);
    ASSERT_EQ(gpu.Allocate(ireq.size, imageType, &imageMem2), VK_SUCCESS);
    VkMemoryDedicatedAllocateInfo dedImg{VK_STRUCTURE_TYPE_MEMORY_DEDICATED_ALLOCATE_INFO, nullptr, images[2],
                                         VK_NULL_HANDLE};
    ASSERT_EQ(gpu.Allocate(ireq.size, imageType, &dedicatedImg, &dedImg), VK_SUCCESS);
    memories.insert(memories.end(), {imageMem1, imageMem2, dedicatedImg});
    EXPECT_EQ(vkBindImageMemory(dev, images[0], imageMem1, 0), VK_SUCCESS);
    VkBindImageMemoryInfo bii[2] = {
        {VK_STRUCTURE_TYPE_BIND_IMAGE_MEMORY_INFO, nullptr, images[1], imageMem2, 0},
        {VK_STRUCTURE_TYPE_BIND_IMAGE_MEMORY_INFO, nullptr, images[2], dedicatedImg, 0},
    };
    EXPECT_EQ(vkBindImageMemory2(dev, 2, bii), VK_SUCCESS);

    // Names, tags, private data on every memory object.
    for (std::size_t i = 0; i < memories.size(); ++i) touch(memories[i], ("memory " + std::to_string(i)).c_str(), 1000 + i);

    // Map / unmap / flush / invalidate on pooled coherent, pooled non-coherent and own memory.
    for (VkDeviceMemory m : {pooledHost, pooledFake, dedicatedBuf}) {
        void* p = nullptr;
        ASSERT_EQ(vkMapMemory(dev, m, 0, VK_WHOLE_SIZE, 0, &p), VK_SUCCESS);
        Fill(p, breq.size, 9);
        VkMappedMemoryRange range{VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE, nullptr, m, 0, VK_WHOLE_SIZE};
        EXPECT_EQ(vkFlushMappedMemoryRanges(dev, 1, &range), VK_SUCCESS);
        EXPECT_EQ(vkInvalidateMappedMemoryRanges(dev, 1, &range), VK_SUCCESS);
        EXPECT_EQ(Verify(p, breq.size, 9), SIZE_MAX);
        vkUnmapMemory(dev, m);
    }

    // A GPU copy through the bound buffers proves the binds landed where the app's data is.
    {
        VkCommandPoolCreateInfo cpi{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO, nullptr, 0, gpu.queueFamily};
        VkCommandPool pool;
        ASSERT_EQ(vkCreateCommandPool(dev, &cpi, nullptr, &pool), VK_SUCCESS);
        VkCommandBufferAllocateInfo cai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, nullptr, pool,
                                        VK_COMMAND_BUFFER_LEVEL_PRIMARY, 1};
        VkCommandBuffer cb;
        ASSERT_EQ(vkAllocateCommandBuffers(dev, &cai, &cb), VK_SUCCESS);
        VkCommandBufferBeginInfo begin{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO, nullptr,
                                       VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT, nullptr};
        vkBeginCommandBuffer(cb, &begin);
        VkBufferCopy copy{0, 0, 4096};
        vkCmdCopyBuffer(cb, buffers[0], buffers[3], 1, &copy);  // pooled coherent → pooled non-coherent
        vkCmdFillBuffer(cb, buffers[1], 0, 4096, 0xA5A5A5A5u);
        vkEndCommandBuffer(cb);
        VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO, nullptr, 0, nullptr, nullptr, 1, &cb, 0, nullptr};
        ASSERT_EQ(vkQueueSubmit(gpu.queue, 1, &si, VK_NULL_HANDLE), VK_SUCCESS);
        ASSERT_EQ(vkQueueWaitIdle(gpu.queue), VK_SUCCESS);
        void* p = nullptr;
        ASSERT_EQ(vkMapMemory(dev, pooledFake, stride, 4096, 0, &p), VK_SUCCESS);
        VkMappedMemoryRange range{VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE, nullptr, pooledFake, stride, VK_WHOLE_SIZE};
        EXPECT_EQ(vkInvalidateMappedMemoryRanges(dev, 1, &range), VK_SUCCESS);
        EXPECT_EQ(Verify(p, 4096, 9), SIZE_MAX) << "copy did not land in the second half of the non-coherent slice";
        vkUnmapMemory(dev, pooledFake);
        ASSERT_EQ(vkMapMemory(dev, pooledHost, stride, 4096, 0, &p), VK_SUCCESS);
        EXPECT_EQ(static_cast<std::uint8_t*>(p)[0], 0xA5);
        EXPECT_EQ(static_cast<std::uint8_t*>(p)[4095], 0xA5);
        vkUnmapMemory(dev, pooledHost);
        vkDestroyCommandPool(dev, pool, nullptr);
    }

    // Export: exportable memory is the layer's own object; the fd query must carry the real handle.
    if (fdExport) {
        VkExportMemoryAllocateInfo export_{VK_STRUCTURE_TYPE_EXPORT_MEMORY_ALLOCATE_INFO, nullptr,
                                           VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT};
        VkDeviceMemory exported;
        ASSERT_EQ(gpu.Allocate(65536, hostType, &exported, &export_), VK_SUCCESS);
        auto getFd = reinterpret_cast<PFN_vkGetMemoryFdKHR>(vkGetDeviceProcAddr(dev, "vkGetMemoryFdKHR"));
        ASSERT_NE(getFd, nullptr);
        VkMemoryGetFdInfoKHR fi{VK_STRUCTURE_TYPE_MEMORY_GET_FD_INFO_KHR, nullptr, exported,
                                VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT};
        int fd = -1;
        EXPECT_EQ(getFd(dev, &fi, &fd), VK_SUCCESS);
        if (fd >= 0) close(fd);
        touch(exported, "exported", 77);
        vkFreeMemory(dev, exported, nullptr);
    } else {
        std::printf("[ SKIPPED  ] vkGetMemoryFdKHR: VK_KHR_external_memory_fd not supported\n");
    }
    // vkGetDeviceMemoryCommitment is only legal on LAZILY_ALLOCATED types.
    if (gpu.FindType(VK_MEMORY_PROPERTY_LAZILY_ALLOCATED_BIT) == UINT32_MAX) {
        std::printf("[ SKIPPED  ] vkGetDeviceMemoryCommitment: no LAZILY_ALLOCATED memory type on this device "
                    "(VUID-vkGetDeviceMemoryCommitment-memory-00690)\n");
    }
    VkPhysicalDeviceFeatures features{};
    vkGetPhysicalDeviceFeatures(gpu.physicalDevice, &features);
    if (!features.sparseBinding) {
        std::printf("[ SKIPPED  ] vkQueueBindSparse: sparseBinding not supported on this device\n");
    }

    // Free while mapped (freeing implicitly unmaps), pooled and own.
    for (VkDeviceMemory m : {pooledFake, dedicatedBuf}) {
        void* p = nullptr;
        ASSERT_EQ(vkMapMemory(dev, m, 0, VK_WHOLE_SIZE, 0, &p), VK_SUCCESS);
    }
    for (auto b : buffers) vkDestroyBuffer(dev, b, nullptr);
    for (auto im : images) vkDestroyImage(dev, im, nullptr);
    for (auto m : memories) vkFreeMemory(dev, m, nullptr);
    vkFreeMemory(dev, VK_NULL_HANDLE, nullptr);
    vkDestroyPrivateDataSlot(dev, slot, nullptr);
    gpu.DestroyDevice();
    const Report r = env.ReadReport();
    ASSERT_TRUE(r.found);
    EXPECT_EQ(r.violations, 0u) << r;
    EXPECT_EQ(r.live, 0u) << r;
    EXPECT_EQ(gpu.Errors(), "");
}

}  // namespace

namespace {

// A valid app may allocate memory before it asks for a resource's requirements: offset 0 of a
// VkDeviceMemory satisfies every alignment. The layer must honour that for slices too.
void BindIntoMemoryAllocatedBeforeRequirementsQuery(const char* minAlignment) {
    ShimEnv env;
    if (minAlignment) env.Set("VMA_SHIM_MIN_ALIGNMENT", minAlignment);
    Gpu gpu;
    ASSERT_EQ(gpu.Create(), VK_SUCCESS);
    VkDevice dev = gpu.device;
    // Allocations made before any requirements were observed: the slice alignment is the default.
    std::vector<VkDeviceMemory> memory(8);
    for (auto& m : memory) ASSERT_EQ(gpu.Allocate(100, 0, &m), VK_SUCCESS);
    VkDeviceMemory target;
    ASSERT_EQ(gpu.Allocate(1 << 20, 0, &target), VK_SUCCESS);

    VkImageCreateInfo ii = vma::test::ImageInfo64(VK_IMAGE_TILING_OPTIMAL,
                                                  VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT);
    VkImage image;
    ASSERT_EQ(vkCreateImage(dev, &ii, nullptr, &image), VK_SUCCESS);
    VkMemoryRequirements req{};
    vkGetImageMemoryRequirements(dev, image, &req);
    std::printf("image requirements: size %" PRIu64 " alignment %" PRIu64 " bits 0x%x\n", req.size, req.alignment,
                req.memoryTypeBits);
    ASSERT_TRUE(req.memoryTypeBits & 1u);
    ASSERT_LE(req.size, VkDeviceSize(1 << 20));
    EXPECT_EQ(vkBindImageMemory(dev, image, target, 0), VK_SUCCESS) << gpu.Errors();
    vkDestroyImage(dev, image, nullptr);
    vkFreeMemory(dev, target, nullptr);
    for (auto m : memory) vkFreeMemory(dev, m, nullptr);
    gpu.DestroyDevice();
    const Report r = env.ReadReport();
    ASSERT_TRUE(r.found);
    EXPECT_EQ(r.live, 0u) << r;
    EXPECT_EQ(r.violations, 0u) << r;
}

TEST(ShimLayerTest, BindIntoMemoryAllocatedBeforeRequirementsQuery) { BindIntoMemoryAllocatedBeforeRequirementsQuery(nullptr); }

// The same with the image alignment a discrete GPU reports (4 KiB here; 64 KiB exists). Fails
// today: the slice was placed at a 64-byte-aligned block offset before the 4 KiB alignment was
// observed, and the layer refuses the (valid) bind with VMA-slice-misaligned. Disabled until the
// layer handles it (e.g. a slice alignment floor of the device's largest plausible alignment, or
// re-placing); run with --gtest_also_run_disabled_tests.
// Own (never pooled) allocations from 16 threads allocating and freeing in a loop, with a driver limit of 8: the
// layer must let at most 8 driver objects exist and answer the rest with
// VK_ERROR_OUT_OF_DEVICE_MEMORY. Fails today: MemoryManager::AllocateOwn (and
// PoolState::AllocateBlock) check liveDriverObjects < maxMemoryAllocationCount and only count the
// new object after the driver call returns, so concurrent callers all pass the check and the
// driver receives more than maxMemoryAllocationCount objects (the shim reports each as a violation
// and fails it with VK_ERROR_TOO_MANY_OBJECTS, which then reaches the app).
TEST(ShimLayerTest, ConcurrentOwnAllocationsRespectDriverLimit) {
    ShimEnv env;
    env.Set("VMA_SHIM_MAX_ALLOCATION_COUNT", "8");
    Gpu gpu;
    ASSERT_EQ(gpu.Create(), VK_SUCCESS);
    constexpr int kThreads = 16, kIterations = 1000;
    std::atomic<int> failures{0}, successes{0}, unexpected{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&] {
            // A device mask makes the allocation the layer's own driver object (never pooled).
            VkMemoryAllocateFlagsInfo flags{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_FLAGS_INFO, nullptr,
                                            VK_MEMORY_ALLOCATE_DEVICE_MASK_BIT, 1};
            for (int i = 0; i < kIterations; ++i) {
                VkDeviceMemory m = VK_NULL_HANDLE;
                const VkResult r = gpu.Allocate(4096, 0, &m, &flags);
                if (r == VK_SUCCESS) {
                    ++successes;
                    vkFreeMemory(gpu.device, m, nullptr);
                } else if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY) {
                    ++failures;
                } else {
                    ++unexpected;
                }
            }
        });
    }
    for (auto& t : threads) t.join();
    gpu.DestroyDevice();
    std::printf("own allocations: %d succeeded, %d out of device memory, %d other\n", successes.load(),
                failures.load(), unexpected.load());
    const Report r = env.ReadReport();
    ASSERT_TRUE(r.found);
    EXPECT_EQ(r.violations, 0u) << r << " (allocations beyond the limit reached the driver)";
    EXPECT_EQ(unexpected.load(), 0);
    EXPECT_EQ(r.live, 0u) << r;
}

// detect_corruption on device-local memory (faked by the shim) with lavapipe's single queue: the
// layer's margin fills and reads share the app's queue, which the app keeps submitting to from
// another thread. Every submission to it must be serialised by the layer: the Khronos validation
// layer, placed between ours and the shim, reports two threads in one queue as a threading error.
TEST(ShimLayerTest, CorruptionChecksShareTheQueueWithConcurrentSubmits_under_validation) {
    ShimEnv env;
    env.Set("VK_LAYER_PATH", std::string(VMA_SHIM_LAYER_PATH) + ":/usr/share/vulkan/explicit_layer.d");
    env.Set("VK_INSTANCE_LAYERS", "VK_LAYER_VMA_suballocator:VK_LAYER_KHRONOS_validation:VK_LAYER_VMA_test_shim");
    env.Set("VMA_SHIM_FAKE_DEVICE_LOCAL", "1");
    env.Set("VK_VMA_SUBALLOCATOR_DETECT_CORRUPTION", "1");
    env.Set("VK_VMA_SUBALLOCATOR_FILL_ALLOCATIONS", "1");
    const std::string log = TempPath("shim_corruption_log");
    std::remove(log.c_str());
    env.Set("VK_VMA_SUBALLOCATOR_LOG_FILE", log);
    env.Set("VK_VMA_SUBALLOCATOR_LOG_LEVEL", "debug");
    Gpu gpu;
    ASSERT_EQ(gpu.Create(), VK_SUCCESS);
    const std::uint32_t deviceLocal = gpu.FindType(VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT);
    ASSERT_NE(deviceLocal, UINT32_MAX) << "the shim did not fake a device-local type";
    std::atomic<bool> done{false};
    std::atomic<int> submitErrors{0}, allocateErrors{0};
    auto beginLabel = reinterpret_cast<PFN_vkQueueBeginDebugUtilsLabelEXT>(
        vkGetDeviceProcAddr(gpu.device, "vkQueueBeginDebugUtilsLabelEXT"));
    auto endLabel = reinterpret_cast<PFN_vkQueueEndDebugUtilsLabelEXT>(
        vkGetDeviceProcAddr(gpu.device, "vkQueueEndDebugUtilsLabelEXT"));
    ASSERT_NE(beginLabel, nullptr);
    ASSERT_NE(endLabel, nullptr);
    std::thread submitter([&] {
        VkFenceCreateInfo fi{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO, nullptr, 0};
        VkDebugUtilsLabelEXT label{VK_STRUCTURE_TYPE_DEBUG_UTILS_LABEL_EXT, nullptr, "frame", {0, 0, 0, 0}};
        VkFence fence = VK_NULL_HANDLE;
        if (vkCreateFence(gpu.device, &fi, nullptr, &fence) != VK_SUCCESS) {
            ++submitErrors;
            return;
        }
        while (!done.load()) {
            beginLabel(gpu.queue, &label);  // labels need the queue externally synchronised too
            if (vkQueueSubmit(gpu.queue, 0, nullptr, fence) != VK_SUCCESS ||
                vkWaitForFences(gpu.device, 1, &fence, VK_TRUE, UINT64_MAX) != VK_SUCCESS ||
                vkResetFences(gpu.device, 1, &fence) != VK_SUCCESS) {
                ++submitErrors;
            }
            endLabel(gpu.queue);
            if (vkQueueWaitIdle(gpu.queue) != VK_SUCCESS) ++submitErrors;
        }
        vkDestroyFence(gpu.device, fence, nullptr);
    });
    std::vector<std::thread> allocators;
    for (int t = 0; t < 2; ++t) {
        allocators.emplace_back([&, t] {
            for (int i = 0; i < 150; ++i) {
                VkDeviceMemory m = VK_NULL_HANDLE;
                if (gpu.Allocate(4096 + 256 * ((i + t) % 7), deviceLocal, &m) != VK_SUCCESS) {
                    ++allocateErrors;
                    continue;
                }
                vkFreeMemory(gpu.device, m, nullptr);
            }
        });
    }
    for (auto& t : allocators) t.join();
    done = true;
    submitter.join();
    EXPECT_EQ(vkDeviceWaitIdle(gpu.device), VK_SUCCESS);
    EXPECT_EQ(submitErrors.load(), 0);
    EXPECT_EQ(allocateErrors.load(), 0);
    EXPECT_EQ(gpu.Errors(), "");
    gpu.DestroyDevice();
    unsetenv("VK_VMA_SUBALLOCATOR_LOG_FILE");
    unsetenv("VK_VMA_SUBALLOCATOR_LOG_LEVEL");
    const std::string text = ReadFile(log);
    std::remove(log.c_str());
    EXPECT_NE(text.find("transfer queue shared with the app"), std::string::npos)
        << "the device-local path (transfer commands on the app's queue) did not run:\n" << text;
    const Report r = env.ReadReport();
    ASSERT_TRUE(r.found);
    EXPECT_EQ(r.violations, 0u) << r;
    EXPECT_EQ(r.live, 0u) << r;
}

TEST(ShimLayerTest, BindIntoMemoryAllocatedBeforeLargeAlignmentQuery) {
    BindIntoMemoryAllocatedBeforeRequirementsQuery("4096");
}

}  // namespace
