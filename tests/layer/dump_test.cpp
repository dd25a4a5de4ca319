// The state map through the real loader on lavapipe: the layer writes it on its real triggers
// (an app allocation that fails; vkDestroyDevice), and the JSON follows every rule of
// reference/vma-anchor.md §3 (tests/core/state_map_checks.h) and says what the app bound and named.
//
// Layers, top to bottom: Khronos validation (must stay silent), VK_LAYER_VMA_suballocator,
// VK_LAYER_VMA_test_shim (fails driver allocations above a size, so an app allocation really
// fails, and aborts if a virtual handle reaches the driver). Tests whose name ends in
// "_under_validation" load the validation layer (scripts/test.sh --asan runs those without leak
// checks, as the validation layer leaks when it is unloaded).
#include <gtest/gtest.h>

#include <chrono>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "state_map_checks.h"
#include "vk_harness.h"

using vma::test::CheckStateMap;
using vma::test::Context;
using vma::test::StateJson;

namespace {

constexpr VkDeviceSize kFailAbove = 256ull << 20;  // the shim fails driver allocations above this

std::string TempDir() {
    const std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    const std::string dir = "/tmp/vma_dump_test_" + std::to_string(getpid()) + "_" + test;
    std::string cmd = "mkdir -p '" + dir + "'";
    EXPECT_EQ(std::system(cmd.c_str()), 0);
    return dir;
}

bool Exists(const std::string& path) { return std::ifstream(path).good(); }

class DumpTest : public ::testing::Test {
  protected:
    void SetUp() override {
        vma::test::SetBaseEnvironment();
        dir_ = TempDir();
        setenv("VK_VMA_SUBALLOCATOR_LOG_FILE", (dir_ + "/log.txt").c_str(), 1);
        setenv("VK_VMA_SUBALLOCATOR_DUMP_FILE", (dir_ + "/dump_%n.json").c_str(), 1);
        setenv("VK_VMA_SUBALLOCATOR_DUMP_ON", "oom,destroy", 1);
        setenv("VMA_SHIM_FAIL_ALLOCATIONS_ABOVE", std::to_string(kFailAbove).c_str(), 1);
        setenv("VMA_SHIM_ABORT_ON_VIOLATION", "1", 1);
    }
    void TearDown() override {
        for (const char* v :
             {"VK_VMA_SUBALLOCATOR_LOG_FILE", "VK_VMA_SUBALLOCATOR_DUMP_FILE", "VK_VMA_SUBALLOCATOR_DUMP_ON",
              "VMA_SHIM_FAIL_ALLOCATIONS_ABOVE", "VMA_SHIM_ABORT_ON_VIOLATION"}) {
            unsetenv(v);
        }
        if (!HasFailure()) std::system(("rm -rf '" + dir_ + "'").c_str());
    }

    // validation: the Khronos validation layer above ours.
    void UseLayers(bool validation) {
        setenv("VK_LAYER_PATH", VMA_DUMP_LAYER_PATH, 1);
        setenv("VK_INSTANCE_LAYERS",
               validation ? "VK_LAYER_KHRONOS_validation:VK_LAYER_VMA_suballocator:VK_LAYER_VMA_test_shim"
                          : "VK_LAYER_VMA_suballocator:VK_LAYER_VMA_test_shim",
               1);
    }

    // The i-th dump of this test (dump_%n.json; %n counts per process, so it need not start at 0).
    StateJson ReadDump(std::size_t i) {
        std::vector<std::pair<unsigned long, std::string>> dumps;
        for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
            unsigned long n = 0;
            if (std::sscanf(entry.path().filename().c_str(), "dump_%lu.json", &n) == 1 &&
                entry.path().extension() == ".json") {
                dumps.emplace_back(n, entry.path().string());
            }
        }
        std::sort(dumps.begin(), dumps.end());
        const std::string path = i < dumps.size() ? dumps[i].second : dir_ + "/dump_<" + std::to_string(i) + ">.json";
        std::ifstream in(path);
        EXPECT_TRUE(in.good()) << "no state map at " << path << "\nlog:\n" << vma::test::ReadFile(dir_ + "/log.txt");
        if (!in) return StateJson::object();
        return StateJson::parse(in);  // throws on a torn or invalid file: the test fails
    }

    // Validation (and our layer) must have said nothing at warning or error severity. The loader
    // reports its VK_INSTANCE_LAYERS decision as a warning: only its errors count.
    static std::string Complaints(Context& ctx) {
        std::lock_guard<std::mutex> lock(ctx.mutex);
        std::string all;
        for (const auto& m : ctx.messages) {
            const bool loaderNote =
                m.id == "Loader Message" && !(m.severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT);
            if (!loaderNote && (m.severity & (VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                                              VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT))) {
                all += m.id + ": " + m.text + "\n";
            }
        }
        return all;
    }

    VkDeviceMemory Allocate(Context& ctx, VkDeviceSize size, std::uint32_t type, const void* next = nullptr) {
        VkDeviceMemory memory = VK_NULL_HANDLE;
        EXPECT_EQ(vma::test::AllocateMemory(ctx.device, size, type, next, &memory), VK_SUCCESS);
        return memory;
    }

    static VkBuffer MakeBuffer(Context& ctx, VkDeviceSize size, VkBufferUsageFlags usage) {
        VkBufferCreateInfo bi{};
        bi.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
        bi.size = size;
        bi.usage = usage;
        VkBuffer buffer = VK_NULL_HANDLE;
        EXPECT_EQ(vkCreateBuffer(ctx.device, &bi, nullptr, &buffer), VK_SUCCESS);
        return buffer;
    }

    static VkImage MakeImage(Context& ctx, VkImageTiling tiling, VkImageUsageFlags usage) {
        const VkImageCreateInfo ii = vma::test::ImageInfo64(tiling, usage);
        VkImage image = VK_NULL_HANDLE;
        EXPECT_EQ(vkCreateImage(ctx.device, &ii, nullptr, &image), VK_SUCCESS);
        return image;
    }

    static void Name(Context& ctx, VkDeviceMemory memory, const char* name) {
        auto setName = reinterpret_cast<PFN_vkSetDebugUtilsObjectNameEXT>(
            vkGetDeviceProcAddr(ctx.device, "vkSetDebugUtilsObjectNameEXT"));
        ASSERT_NE(setName, nullptr);
        VkDebugUtilsObjectNameInfoEXT info{};
        info.sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_OBJECT_NAME_INFO_EXT;
        info.objectType = VK_OBJECT_TYPE_DEVICE_MEMORY;
        info.objectHandle = reinterpret_cast<std::uint64_t>(memory);
        info.pObjectName = name;
        ASSERT_EQ(setName(ctx.device, &info), VK_SUCCESS);
    }

    // Memory for `req` of at least `size` bytes, in the first type the requirements allow.
    VkDeviceMemory AllocateFor(Context& ctx, const VkMemoryRequirements& req, VkDeviceSize size = 0,
                               const void* next = nullptr) {
        return Allocate(ctx, std::max(size, req.size), ctx.FindType(0, req.memoryTypeBits), next);
    }

    std::string dir_;
};

// The allocation item named `name`, searched in every block and dedicated list.
StateJson FindNamed(const StateJson& j, const std::string& name) {
    for (const StateJson& a : vma::test::AllAllocations(j)) {
        if (a.value("Name", std::string()) == name) return a;
    }
    ADD_FAILURE() << "no allocation named " << name << " in\n" << j.dump(1);
    return StateJson::object();
}

TEST_F(DumpTest, OomMapDescribesWhatTheAppBound_under_validation) {
    UseLayers(true);
    Context ctx;
    VkPhysicalDeviceVulkan12Features f12{};
    f12.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES;
    f12.bufferDeviceAddress = VK_TRUE;
    ctx.deviceNext = &f12;
    ASSERT_EQ(ctx.Create(), VK_SUCCESS);
    ASSERT_GT(ctx.memoryProperties.memoryHeaps[0].size, kFailAbove + (64u << 20)) << "heap too small for the test";

    // A: one vertex buffer, in memory the app names.
    VkBuffer vertex = MakeBuffer(ctx, 4096, VK_BUFFER_USAGE_VERTEX_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT);
    VkMemoryRequirements req{};
    vkGetBufferMemoryRequirements(ctx.device, vertex, &req);
    VkDeviceMemory vertexMemory = AllocateFor(ctx, req);
    Name(ctx, vertexMemory, "vertices");
    ASSERT_EQ(vkBindBufferMemory(ctx.device, vertex, vertexMemory, 0), VK_SUCCESS);

    // B: an optimal sampled image (bound with vkBindImageMemory2).
    VkImage texture =
        MakeImage(ctx, VK_IMAGE_TILING_OPTIMAL, VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT);
    vkGetImageMemoryRequirements(ctx.device, texture, &req);
    VkDeviceMemory textureMemory = AllocateFor(ctx, req);
    Name(ctx, textureMemory, "texture");
    VkBindImageMemoryInfo bindImage{};
    bindImage.sType = VK_STRUCTURE_TYPE_BIND_IMAGE_MEMORY_INFO;
    bindImage.image = texture;
    bindImage.memory = textureMemory;
    ASSERT_EQ(vkBindImageMemory2(ctx.device, 1, &bindImage), VK_SUCCESS);

    // C: two buffers in one allocation: BUFFER with the usages OR-ed.
    VkBuffer uniform = MakeBuffer(ctx, 256, VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT);
    VkBuffer index = MakeBuffer(ctx, 256, VK_BUFFER_USAGE_INDEX_BUFFER_BIT);
    vkGetBufferMemoryRequirements(ctx.device, uniform, &req);
    const VkDeviceSize second = (req.size + req.alignment - 1) / req.alignment * req.alignment;
    VkDeviceMemory pairMemory = AllocateFor(ctx, req, second * 2);
    Name(ctx, pairMemory, "two buffers");
    ASSERT_EQ(vkBindBufferMemory(ctx.device, uniform, pairMemory, 0), VK_SUCCESS);
    vkGetBufferMemoryRequirements(ctx.device, index, &req);
    ASSERT_EQ(vkBindBufferMemory(ctx.device, index, pairMemory, second), VK_SUCCESS);

    // D: a buffer and an image in one allocation: UNKNOWN, usage 0.
    VkBuffer mixedBuffer = MakeBuffer(ctx, 256, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT);
    VkImage mixedImage = MakeImage(ctx, VK_IMAGE_TILING_OPTIMAL, VK_IMAGE_USAGE_SAMPLED_BIT);
    VkMemoryRequirements imageReq{};
    vkGetImageMemoryRequirements(ctx.device, mixedImage, &imageReq);
    vkGetBufferMemoryRequirements(ctx.device, mixedBuffer, &req);
    VkDeviceMemory mixedMemory = AllocateFor(ctx, imageReq, imageReq.size + req.alignment + req.size);
    Name(ctx, mixedMemory, "mixed");
    ASSERT_EQ(vkBindImageMemory(ctx.device, mixedImage, mixedMemory, 0), VK_SUCCESS);
    vkGetBufferMemoryRequirements(ctx.device, mixedBuffer, &req);
    ASSERT_EQ(vkBindBufferMemory(ctx.device, mixedBuffer, mixedMemory,
                                 (imageReq.size + req.alignment - 1) / req.alignment * req.alignment),
              VK_SUCCESS);

    // E: nothing bound. F: a linear image.
    const std::uint32_t anyType = ctx.FindType(0);
    VkDeviceMemory emptyMemory = Allocate(ctx, 1000, anyType);
    Name(ctx, emptyMemory, "nothing bound");
    VkImage linear = MakeImage(ctx, VK_IMAGE_TILING_LINEAR, VK_IMAGE_USAGE_TRANSFER_SRC_BIT);
    vkGetImageMemoryRequirements(ctx.device, linear, &req);
    VkDeviceMemory linearMemory = AllocateFor(ctx, req);
    Name(ctx, linearMemory, "linear");
    ASSERT_EQ(vkBindImageMemory(ctx.device, linear, linearMemory, 0), VK_SUCCESS);

    // G: a dedicated allocation (own VkDeviceMemory): DedicatedAllocations, with Usage, no Offset.
    VkImage dedicatedImage =
        MakeImage(ctx, VK_IMAGE_TILING_OPTIMAL, VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | VK_IMAGE_USAGE_SAMPLED_BIT);
    vkGetImageMemoryRequirements(ctx.device, dedicatedImage, &req);
    VkMemoryDedicatedAllocateInfo dedicatedInfo{};
    dedicatedInfo.sType = VK_STRUCTURE_TYPE_MEMORY_DEDICATED_ALLOCATE_INFO;
    dedicatedInfo.image = dedicatedImage;
    VkDeviceMemory dedicatedMemory = AllocateFor(ctx, req, 0, &dedicatedInfo);
    Name(ctx, dedicatedMemory, "dedicated");
    ASSERT_EQ(vkBindImageMemory(ctx.device, dedicatedImage, dedicatedMemory, 0), VK_SUCCESS);

    // H: device-address memory: a pool of its own key, written as a custom pool.
    VkMemoryAllocateFlagsInfo flags{};
    flags.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_FLAGS_INFO;
    flags.flags = VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT;
    VkDeviceMemory addressMemory = Allocate(ctx, 4096, anyType, &flags);

    // The real trigger: an app allocation the driver refuses (the shim fails it).
    VkDeviceMemory none = VK_NULL_HANDLE;
    EXPECT_EQ(vma::test::AllocateMemory(ctx.device, kFailAbove + (32u << 20), anyType, nullptr, &none),
              VK_ERROR_OUT_OF_DEVICE_MEMORY);

    const StateJson j = ReadDump(0);
    CheckStateMap(j);
    EXPECT_EQ(j["General"]["Trigger"], "oom");
    EXPECT_EQ(j["General"]["Layer"], "VK_LAYER_VMA_suballocator");
    EXPECT_EQ(j["General"]["AppAllocations"], 8) << "the failed allocation is not live";
    EXPECT_EQ(j["General"]["GPU"], ctx.properties.deviceName);

    StateJson a = FindNamed(j, "vertices");
    EXPECT_EQ(a["Type"], "BUFFER");
    EXPECT_EQ(a["Usage"], VK_BUFFER_USAGE_VERTEX_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT);
    EXPECT_TRUE(a.contains("Offset")) << "pooled: a suballocation of a block";
    a = FindNamed(j, "texture");
    EXPECT_EQ(a["Type"], "IMAGE_OPTIMAL");
    EXPECT_EQ(a["Usage"], VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT);
    a = FindNamed(j, "two buffers");
    EXPECT_EQ(a["Type"], "BUFFER");
    EXPECT_EQ(a["Usage"], VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT | VK_BUFFER_USAGE_INDEX_BUFFER_BIT);
    a = FindNamed(j, "mixed");
    EXPECT_EQ(a["Type"], "UNKNOWN");
    EXPECT_EQ(a["Usage"], 0);
    a = FindNamed(j, "nothing bound");
    EXPECT_EQ(a["Type"], "UNKNOWN");
    EXPECT_EQ(a["Usage"], 0);
    a = FindNamed(j, "linear");
    EXPECT_EQ(a["Type"], "IMAGE_LINEAR");
    EXPECT_EQ(a["Usage"], VK_IMAGE_USAGE_TRANSFER_SRC_BIT);

    const std::string typeKey = "Type " + std::to_string(ctx.FindType(0, req.memoryTypeBits));
    const StateJson& dedicated = j["DefaultPools"][typeKey]["DedicatedAllocations"];
    ASSERT_EQ(dedicated.size(), 1u) << j["DefaultPools"].dump(1);
    EXPECT_EQ(dedicated[0]["Name"], "dedicated");
    EXPECT_EQ(dedicated[0]["Type"], "IMAGE_OPTIMAL");
    EXPECT_EQ(dedicated[0]["Usage"], VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | VK_IMAGE_USAGE_SAMPLED_BIT);
    EXPECT_FALSE(dedicated[0].contains("Offset"));

    const std::string anyKey = "Type " + std::to_string(anyType);
    ASSERT_TRUE(j["CustomPools"].contains(anyKey)) << j["CustomPools"].dump(1);
    const StateJson& custom = j["CustomPools"][anyKey];
    ASSERT_EQ(custom.size(), 1u);
    EXPECT_EQ(custom[0]["Name"], "0 - device address");
    ASSERT_EQ(custom[0]["Blocks"].size(), 1u);
    EXPECT_EQ(custom[0]["Blocks"].begin().value()["Allocations"], 1);

    for (VkBuffer b : {vertex, uniform, index, mixedBuffer}) vkDestroyBuffer(ctx.device, b, nullptr);
    for (VkImage i : {texture, mixedImage, linear, dedicatedImage}) vkDestroyImage(ctx.device, i, nullptr);
    for (VkDeviceMemory m : {vertexMemory, textureMemory, pairMemory, mixedMemory, emptyMemory, linearMemory,
                             dedicatedMemory, addressMemory}) {
        vkFreeMemory(ctx.device, m, nullptr);
    }
    ctx.DestroyDevice();
    // The destroy-time map: everything freed, the kept empty blocks all FREE.
    const StateJson end = ReadDump(1);
    CheckStateMap(end);
    EXPECT_EQ(end["General"]["Trigger"], "destroy");
    EXPECT_EQ(end["Total"]["AllocationCount"], 0);
    EXPECT_TRUE(vma::test::AllAllocations(end).empty());
    // One log line per dump, with its path (the log is flushed at vkDestroyDevice).
    const std::string log = vma::test::ReadFile(dir_ + "/log.txt");
    EXPECT_NE(log.find("state map (oom) written to " + dir_ + "/dump_"), std::string::npos) << log;
    EXPECT_NE(log.find("state map (destroy) written to " + dir_ + "/dump_"), std::string::npos) << log;
    EXPECT_EQ(Complaints(ctx), "") << "validation (or the layer) complained";
}

// A program probing for memory fails allocations in a loop: one map, not one per failure.
TEST_F(DumpTest, FailedAllocationsInALoopWriteOneMap) {
    UseLayers(false);
    setenv("VK_VMA_SUBALLOCATOR_DUMP_ON", "oom", 1);
    Context ctx;
    ASSERT_EQ(ctx.Create(), VK_SUCCESS);
    const std::uint32_t type = ctx.FindType(0);
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 20; ++i) {
        VkDeviceMemory memory = VK_NULL_HANDLE;
        EXPECT_EQ(vma::test::AllocateMemory(ctx.device, kFailAbove * 2, type, nullptr, &memory),
                  VK_ERROR_OUT_OF_DEVICE_MEMORY);
    }
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start);
    ctx.DestroyDevice();
    std::size_t maps = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
        if (entry.path().extension() == ".json") ++maps;
    }
    // One a second (a slow sanitizer build may take more than one second for the loop).
    EXPECT_GE(maps, 1u);
    EXPECT_LE(maps, static_cast<std::size_t>(seconds.count()) + 1) << "20 failures in " << seconds.count() << " s";
    EXPECT_EQ(ReadDump(0)["General"]["Trigger"], "oom");
}

TEST_F(DumpTest, DestroyMapComesBeforeTheLayerFreesLeakedMemory) {
    UseLayers(false);  // leaking is invalid: validation would rightly complain
    setenv("VK_VMA_SUBALLOCATOR_DUMP_ON", "destroy", 1);
    Context ctx;
    ASSERT_EQ(ctx.Create(), VK_SUCCESS);
    VkBuffer buffer = MakeBuffer(ctx, 65536, VK_BUFFER_USAGE_INDIRECT_BUFFER_BIT);
    VkMemoryRequirements req{};
    vkGetBufferMemoryRequirements(ctx.device, buffer, &req);
    VkDeviceMemory leaked = AllocateFor(ctx, req);
    Name(ctx, leaked, "leaked");
    ASSERT_EQ(vkBindBufferMemory(ctx.device, buffer, leaked, 0), VK_SUCCESS);
    vkDestroyBuffer(ctx.device, buffer, nullptr);  // the memory keeps what was bound to it
    ctx.DestroyDevice();
    const StateJson j = ReadDump(0);
    CheckStateMap(j);
    EXPECT_EQ(j["General"]["Trigger"], "destroy");
    const StateJson a = FindNamed(j, "leaked");
    EXPECT_EQ(a["Type"], "BUFFER");
    EXPECT_EQ(a["Usage"], VK_BUFFER_USAGE_INDIRECT_BUFFER_BIT);
    EXPECT_TRUE(ctx.SawMessage("VMA-leak")) << "the layer still frees and reports the leak";
}

TEST_F(DumpTest, DumpWhileOtherThreadsAllocateIsConsistent) {
    UseLayers(false);
    setenv("VK_VMA_SUBALLOCATOR_DUMP_FILE", (dir_ + "/dump.json").c_str(), 1);  // no %n: each replaces the last
    Context ctx;
    ASSERT_EQ(ctx.Create(), VK_SUCCESS);
    const std::uint32_t type = ctx.FindType(0);
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; ++t) {
        threads.emplace_back([&, t] {
            std::vector<VkDeviceMemory> live;
            std::uint32_t n = 12345u + static_cast<std::uint32_t>(t);
            while (!stop.load()) {
                n = n * 1664525u + 1013904223u;
                if (live.size() < 100 && (n >> 28) < 9) {
                    // Now and then a size the shim refuses: an OOM dump from this thread.
                    const VkDeviceSize size = (n >> 8) % 97 == 0 ? kFailAbove + 4096 : 256 + (n >> 12) % 100000;
                    VkDeviceMemory m = VK_NULL_HANDLE;
                    if (vma::test::AllocateMemory(ctx.device, size, type, nullptr, &m) == VK_SUCCESS) live.push_back(m);
                } else if (!live.empty()) {
                    vkFreeMemory(ctx.device, live.back(), nullptr);
                    live.pop_back();
                }
            }
            for (VkDeviceMemory m : live) vkFreeMemory(ctx.device, m, nullptr);
        });
    }
    // Meanwhile, read every dump that appears: never half a file, always a valid map.
    int read = 0;
    for (int i = 0; i < 400 && read < 20; ++i) {
        if (Exists(dir_ + "/dump.json")) {
            std::ifstream in(dir_ + "/dump.json");
            CheckStateMap(StateJson::parse(in));
            ++read;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    stop = true;
    for (auto& th : threads) th.join();
    EXPECT_GT(read, 0) << "no OOM dump appeared\n" << vma::test::ReadFile(dir_ + "/log.txt");
}

TEST_F(DumpTest, UnwritablePathWarnsAndTheAppCarriesOn) {
    UseLayers(false);
    setenv("VK_VMA_SUBALLOCATOR_DUMP_FILE", "/nonexistent-dir/vma/dump.json", 1);
    Context ctx;
    ASSERT_EQ(ctx.Create(), VK_SUCCESS);
    VkDeviceMemory m = Allocate(ctx, 4096, ctx.FindType(0));
    vkFreeMemory(ctx.device, m, nullptr);
    ctx.DestroyDevice();
    EXPECT_TRUE(ctx.SawMessage("VMA-dump-failed")) << ctx.AllMessages();
    EXPECT_TRUE(ctx.SawMessage("/nonexistent-dir/vma/dump.json")) << ctx.AllMessages();
}

TEST_F(DumpTest, BadDumpOnValueIsReportedAndDefaultStays) {
    UseLayers(false);
    setenv("VK_VMA_SUBALLOCATOR_DUMP_ON", "destroy,sometimes", 1);
    Context ctx;
    ASSERT_EQ(ctx.Create(), VK_SUCCESS);
    ctx.DestroyDevice();
    EXPECT_TRUE(ctx.SawMessage("sometimes")) << ctx.AllMessages();
    const StateJson j = ReadDump(0);
    EXPECT_EQ(j["General"]["Trigger"], "destroy") << "the default (destroy) stays";
}

}  // namespace
