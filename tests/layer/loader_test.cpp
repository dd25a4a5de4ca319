// The layer through the real loader on lavapipe: it is in the chain, answers the loader's
// queries as the rules say, applies settings from every source, and translates every carrier of
// VkDeviceMemory that lavapipe supports.
#include <gtest/gtest.h>
#include <dlfcn.h>
#include <malloc.h>
#include <unistd.h>

#include <cstring>
#include <random>
#include <thread>

#include "settings.h"  // VK_EXT_layer_settings, declared locally for the 1.3.239 headers
#include "vk_local.h"  // VK_KHR_map_memory2, likewise
#include "vk_harness.h"

using vma::layer::VkLayerSettingEXT;
using vma::layer::VkLayerSettingsCreateInfoEXT;

using vma::test::Context;

namespace {

std::string TempPath(const char* name) {
    return std::string("/tmp/vma_loader_test_") + std::to_string(getpid()) + "_" + name;
}

class LayerTest : public ::testing::Test {
protected:
    void SetUp() override {
        vma::test::SetBaseEnvironment();
        setenv("VK_INSTANCE_LAYERS", "VK_LAYER_VMA_suballocator", 1);
        logPath_ = TempPath("log.txt");
        std::remove(logPath_.c_str());
        setenv("VK_VMA_SUBALLOCATOR_LOG_FILE", logPath_.c_str(), 1);
    }
    void TearDown() override {
        unsetenv("VK_VMA_SUBALLOCATOR_LOG_FILE");
        unsetenv("VK_VMA_SUBALLOCATOR_PASS_THROUGH");
        unsetenv("VK_VMA_SUBALLOCATOR_BLOCK_SIZE");
        unsetenv("VK_VMA_SUBALLOCATOR_DETECT_CORRUPTION");
        unsetenv("VK_VMA_SUBALLOCATOR_FILL_ALLOCATIONS");
        unsetenv("VK_VMA_SUBALLOCATOR_EMPTY_BLOCK_GRACE_MS");
        std::remove(logPath_.c_str());
    }

    VkDeviceMemory Allocate(Context& ctx, VkDeviceSize size, std::uint32_t type, const void* next = nullptr) {
        VkDeviceMemory memory = VK_NULL_HANDLE;
        EXPECT_EQ(vma::test::AllocateMemory(ctx.device, size, type, next, &memory), VK_SUCCESS);
        return memory;
    }

    VkBuffer MakeBuffer(Context& ctx, VkDeviceSize size) {
        VkBufferCreateInfo bi{};
        bi.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
        bi.size = size;
        bi.usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT | VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;
        VkBuffer buffer = VK_NULL_HANDLE;
        EXPECT_EQ(vkCreateBuffer(ctx.device, &bi, nullptr, &buffer), VK_SUCCESS);
        return buffer;
    }

    std::string logPath_;
};

TEST_F(LayerTest, LayerIsInTheChainAndSuballocates) {
    Context ctx;
    ASSERT_EQ(ctx.Create(), VK_SUCCESS);
    std::uint32_t count = 0;
    vkEnumerateDeviceLayerProperties(ctx.physicalDevice, &count, nullptr);
    const std::uint32_t type = ctx.FindType(VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT);
    std::vector<VkDeviceMemory> memories;
    for (int i = 0; i < 200; ++i) memories.push_back(Allocate(ctx, 256 + 37 * i, type));
    for (auto m : memories) vkFreeMemory(ctx.device, m, nullptr);
    ctx.Destroy();
    std::uint64_t app = 0, driver = 0;
    ASSERT_TRUE(vma::test::ParseSummary(vma::test::ReadFile(logPath_), &app, &driver))
        << "no summary line from the layer: it is not in the chain\n" << vma::test::ReadFile(logPath_);
    EXPECT_EQ(app, 200u);
    EXPECT_EQ(driver, 1u) << "200 small allocations should share one block";
}

// A program that frees everything and allocates it again (a level reload) gets its blocks back
// within the grace period; with the period off (VMA's rule) all but one are made again.
TEST_F(LayerTest, EmptyBlocksStayForTheGracePeriod) {
    for (const char* grace : {"60000", "0"}) {
        setenv("VK_VMA_SUBALLOCATOR_EMPTY_BLOCK_GRACE_MS", grace, 1);
        std::remove(logPath_.c_str());
        {
            Context ctx;
            ASSERT_EQ(ctx.Create(), VK_SUCCESS);
            const std::uint32_t type = ctx.FindType(VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT);
            for (int round = 0; round < 2; ++round) {
                // 4 MiB each: 32 + 64 + 128 MiB blocks hold 8 + 16 + 32, so 50 need all three. Without a
                // grace period only the 128 MiB block survives the frees and the second round needs a
                // fourth block (256 MiB).
                std::vector<VkDeviceMemory> memories;
                for (int i = 0; i < 50; ++i) memories.push_back(Allocate(ctx, 4 << 20, type));
                for (auto m : memories) vkFreeMemory(ctx.device, m, nullptr);
            }
        }
        std::uint64_t app = 0, driver = 0;
        ASSERT_TRUE(vma::test::ParseSummary(vma::test::ReadFile(logPath_), &app, &driver));
        EXPECT_EQ(app, 100u);
        EXPECT_EQ(driver, std::string(grace) == "0" ? 4u : 3u) << "grace period " << grace << " ms";
    }
}

// detect_corruption on lavapipe's host-visible memory: an overrun through the mapping is found
// at vkDeviceWaitIdle (still live) and again at vkFreeMemory, with its exact range; the neighbour
// is not blamed.
TEST_F(LayerTest, CorruptionFoundAtDeviceWaitIdleAndFree) {
    setenv("VK_VMA_SUBALLOCATOR_DETECT_CORRUPTION", "1", 1);
    Context ctx;
    ASSERT_EQ(ctx.Create(), VK_SUCCESS);
    const std::uint32_t type = ctx.FindType(VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT);
    VkDeviceMemory a = Allocate(ctx, 1000, type);
    VkDeviceMemory b = Allocate(ctx, 1000, type);
    void* pa = nullptr;
    void* pb = nullptr;
    ASSERT_EQ(vkMapMemory(ctx.device, a, 0, VK_WHOLE_SIZE, 0, &pa), VK_SUCCESS);
    ASSERT_EQ(vkMapMemory(ctx.device, b, 0, VK_WHOLE_SIZE, 0, &pb), VK_SUCCESS);
    std::memset(pa, 0x11, 1000);  // in bounds: no report
    std::memset(pb, 0x22, 1000);
    ASSERT_EQ(vkDeviceWaitIdle(ctx.device), VK_SUCCESS);
    EXPECT_EQ(ctx.Errors(), "");
    static_cast<std::uint8_t*>(pa)[1001] = 0x5A;  // two bytes past the end of a
    static_cast<std::uint8_t*>(pb)[-20] = 0x5A;   // 20 bytes before b
    ASSERT_EQ(vkDeviceWaitIdle(ctx.device), VK_SUCCESS);
    const std::string errors = ctx.Errors();
    EXPECT_NE(errors.find("at vkDeviceWaitIdle"), std::string::npos) << errors;
    EXPECT_NE(errors.find("bytes [1001, 1001] relative to its start (2 to 2 bytes past its end)"), std::string::npos)
        << errors;
    EXPECT_NE(errors.find("bytes [-20, -20] relative to its start (20 to 20 bytes before its start)"),
              std::string::npos)
        << errors;
    ctx.messages.clear();
    vkFreeMemory(ctx.device, a, nullptr);
    EXPECT_NE(ctx.Errors().find("at vkFreeMemory"), std::string::npos) << ctx.Errors();
    EXPECT_NE(ctx.Errors().find("[1001, 1001]"), std::string::npos) << ctx.Errors();
    EXPECT_EQ(ctx.Errors().find("[-20, -20]"), std::string::npos) << "b is not freed yet\n" << ctx.Errors();
    // b's data is intact and b is still usable.
    for (int i = 0; i < 1000; ++i) ASSERT_EQ(static_cast<std::uint8_t*>(pb)[i], 0x22) << i;
    vkFreeMemory(ctx.device, b, nullptr);
}

// fill_allocations: new memory reads 0xDC, freed memory 0xEF (seen through a stale pointer while
// another allocation keeps the block).
TEST_F(LayerTest, FillPatternsMarkNewAndFreedMemory) {
    setenv("VK_VMA_SUBALLOCATOR_FILL_ALLOCATIONS", "1", 1);
    Context ctx;
    ASSERT_EQ(ctx.Create(), VK_SUCCESS);
    const std::uint32_t type = ctx.FindType(VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT);
    VkDeviceMemory keeper = Allocate(ctx, 4096, type);
    VkDeviceMemory m = Allocate(ctx, 333, type);
    void* p = nullptr;
    ASSERT_EQ(vkMapMemory(ctx.device, m, 0, VK_WHOLE_SIZE, 0, &p), VK_SUCCESS);
    auto* bytes = static_cast<volatile std::uint8_t*>(p);
    for (int i = 0; i < 333; ++i) ASSERT_EQ(bytes[i], 0xDC) << i;
    std::memset(p, 0x01, 333);
    vkFreeMemory(ctx.device, m, nullptr);
    for (int i = 0; i < 333; ++i) ASSERT_EQ(bytes[i], 0xEF) << i;
    vkFreeMemory(ctx.device, keeper, nullptr);
    EXPECT_EQ(ctx.Errors(), "");
}

TEST_F(LayerTest, EnumerateAnswersOnlyForItself) {
    std::uint32_t count = 0;
    EXPECT_EQ(vkEnumerateInstanceExtensionProperties("VK_LAYER_VMA_suballocator", &count, nullptr), VK_SUCCESS);
    ASSERT_EQ(count, 1u);
    VkExtensionProperties ext{};
    EXPECT_EQ(vkEnumerateInstanceExtensionProperties("VK_LAYER_VMA_suballocator", &count, &ext), VK_SUCCESS);
    EXPECT_STREQ(ext.extensionName, "VK_EXT_layer_settings");

    std::uint32_t layers = 0;
    vkEnumerateInstanceLayerProperties(&layers, nullptr);
    std::vector<VkLayerProperties> props(layers);
    vkEnumerateInstanceLayerProperties(&layers, props.data());
    bool found = false;
    for (auto& p : props) found |= std::strcmp(p.layerName, "VK_LAYER_VMA_suballocator") == 0;
    EXPECT_TRUE(found);
}

TEST_F(LayerTest, UnsupportedDeviceFunctionsStayNull) {
    Context ctx;
    ASSERT_EQ(ctx.Create(), VK_SUCCESS);
    // VK_KHR_map_memory2 is hooked by the layer but not enabled (nor offered by lavapipe 22.3).
    EXPECT_EQ(vkGetDeviceProcAddr(ctx.device, "vkMapMemory2KHR"), nullptr);
    EXPECT_EQ(vkGetDeviceProcAddr(ctx.device, "vkNotAFunction"), nullptr);
    EXPECT_NE(vkGetDeviceProcAddr(ctx.device, "vkAllocateMemory"), nullptr);
}

TEST_F(LayerTest, ApiSettingsApplyAndEnvironmentWins) {
    const char* passThrough = "all";
    VkLayerSettingEXT item{"VK_LAYER_VMA_suballocator", "pass_through", vma::layer::VK_LAYER_SETTING_TYPE_STRING_EXT, 1,
                           &passThrough};
    VkLayerSettingsCreateInfoEXT api{static_cast<VkStructureType>(1000496000), nullptr, 1, &item};
    const std::uint32_t kCount = 20;
    auto run = [&](std::uint64_t* driver) {
        Context ctx;
        ASSERT_EQ(ctx.Create(&api), VK_SUCCESS);
        std::vector<VkDeviceMemory> memories;
        for (std::uint32_t i = 0; i < kCount; ++i) memories.push_back(Allocate(ctx, 4096, 0));
        for (auto m : memories) vkFreeMemory(ctx.device, m, nullptr);
        ctx.Destroy();
        std::uint64_t app = 0;
        ASSERT_TRUE(vma::test::ParseSummary(vma::test::ReadFile(logPath_), &app, driver));
        std::remove(logPath_.c_str());
    };
    std::uint64_t driver = 0;
    run(&driver);
    EXPECT_EQ(driver, kCount) << "pass_through=all from VK_EXT_layer_settings was not applied";
    setenv("VK_VMA_SUBALLOCATOR_PASS_THROUGH", "none", 1);
    run(&driver);
    EXPECT_EQ(driver, 1u) << "the environment must win over VK_EXT_layer_settings";
}

TEST_F(LayerTest, BadSettingValueWarnsThroughTheAppMessenger) {
    setenv("VK_VMA_SUBALLOCATOR_BLOCK_SIZE", "banana", 1);
    Context ctx;
    ASSERT_EQ(ctx.Create(), VK_SUCCESS);
    EXPECT_TRUE(ctx.SawMessage("vma_suballocator.block_size")) << ctx.AllMessages();
    EXPECT_TRUE(ctx.SawMessage("banana")) << ctx.AllMessages();
    ctx.Destroy();
    EXPECT_NE(vma::test::ReadFile(logPath_).find("banana"), std::string::npos);
}

TEST_F(LayerTest, SlicesKeepTheirDataAndNeverOverlap) {
    Context ctx;
    ASSERT_EQ(ctx.Create(), VK_SUCCESS);
    const std::uint32_t type = ctx.FindType(VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
    std::mt19937 rng(7);
    struct Alloc {
        VkDeviceMemory memory;
        VkDeviceSize size;
        std::uint8_t seed;
    };
    std::vector<Alloc> live;
    for (int round = 0; round < 2000; ++round) {
        if (!live.empty() && rng() % 3 == 0) {
            const std::size_t i = rng() % live.size();
            // Verify before freeing: a neighbour writing past its end would show here.
            void* p = nullptr;
            ASSERT_EQ(vkMapMemory(ctx.device, live[i].memory, 0, VK_WHOLE_SIZE, 0, &p), VK_SUCCESS);
            auto* bytes = static_cast<std::uint8_t*>(p);
            for (VkDeviceSize b = 0; b < live[i].size; ++b) {
                ASSERT_EQ(bytes[b], static_cast<std::uint8_t>(live[i].seed + b)) << "slice data changed";
            }
            vkUnmapMemory(ctx.device, live[i].memory);
            vkFreeMemory(ctx.device, live[i].memory, nullptr);
            live.erase(live.begin() + i);
        } else {
            const VkDeviceSize size = 1 + rng() % 20000;
            Alloc a{Allocate(ctx, size, type), size, static_cast<std::uint8_t>(rng())};
            void* p = nullptr;
            ASSERT_EQ(vkMapMemory(ctx.device, a.memory, 0, size, 0, &p), VK_SUCCESS);
            ASSERT_EQ(reinterpret_cast<std::uintptr_t>(p) % ctx.properties.limits.minMemoryMapAlignment, 0u);
            auto* bytes = static_cast<std::uint8_t*>(p);
            for (VkDeviceSize b = 0; b < size; ++b) bytes[b] = static_cast<std::uint8_t>(a.seed + b);
            vkUnmapMemory(ctx.device, a.memory);
            live.push_back(a);
        }
    }
    for (auto& a : live) vkFreeMemory(ctx.device, a.memory, nullptr);
}

TEST_F(LayerTest, MapAtOffsetWholeSizeAndFlushInvalidate) {
    Context ctx;
    ASSERT_EQ(ctx.Create(), VK_SUCCESS);
    const std::uint32_t host = ctx.FindType(VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT);
    VkDeviceMemory a = Allocate(ctx, 1000, host);
    VkDeviceMemory b = Allocate(ctx, 1000, host);
    void* pa = nullptr;
    void* pb = nullptr;
    ASSERT_EQ(vkMapMemory(ctx.device, a, 128, VK_WHOLE_SIZE, 0, &pa), VK_SUCCESS);
    ASSERT_EQ(vkMapMemory(ctx.device, b, 0, VK_WHOLE_SIZE, 0, &pb), VK_SUCCESS);
    std::memset(pb, 0x5A, 1000);
    std::memset(pa, 0x11, 1000 - 128);
    VkMappedMemoryRange ranges[3]{};
    for (auto& r : ranges) r.sType = VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE;
    ranges[0].memory = a;
    ranges[0].offset = 128;
    ranges[0].size = VK_WHOLE_SIZE;
    ranges[1].memory = b;
    ranges[1].offset = 64;
    ranges[1].size = 1000 - 64;  // ends at the allocation's end: legal unaligned end
    ranges[2].memory = b;
    ranges[2].offset = 0;
    ranges[2].size = 64;
    EXPECT_EQ(vkFlushMappedMemoryRanges(ctx.device, 3, ranges), VK_SUCCESS);
    EXPECT_EQ(vkInvalidateMappedMemoryRanges(ctx.device, 3, ranges), VK_SUCCESS);
    EXPECT_EQ(static_cast<std::uint8_t*>(pb)[999], 0x5A);
    EXPECT_EQ(static_cast<std::uint8_t*>(pa)[0], 0x11);
    // A range outside the mapping is the app's error: reported, not passed on.
    ranges[0].offset = 0;
    ranges[0].size = 64;
    EXPECT_NE(vkFlushMappedMemoryRanges(ctx.device, 1, ranges), VK_SUCCESS);
    EXPECT_TRUE(ctx.SawMessage("VMA-flush-range-invalid")) << ctx.AllMessages();
    vkFreeMemory(ctx.device, a, nullptr);  // freed while mapped: legal, implicitly unmaps
    vkFreeMemory(ctx.device, b, nullptr);
}

TEST_F(LayerTest, DoubleMapAndBadHandlesAreReportedNotCrashing) {
    Context ctx;
    ASSERT_EQ(ctx.Create(), VK_SUCCESS);
    const std::uint32_t host = ctx.FindType(VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT);
    VkDeviceMemory a = Allocate(ctx, 4096, host);
    VkDeviceMemory keep = Allocate(ctx, 4096, host);
    void* p = nullptr;
    ASSERT_EQ(vkMapMemory(ctx.device, keep, 0, VK_WHOLE_SIZE, 0, &p), VK_SUCCESS);
    std::memset(p, 0xAB, 4096);
    ASSERT_EQ(vkMapMemory(ctx.device, a, 0, VK_WHOLE_SIZE, 0, &p), VK_SUCCESS);
    EXPECT_EQ(vkMapMemory(ctx.device, a, 0, VK_WHOLE_SIZE, 0, &p), VK_ERROR_MEMORY_MAP_FAILED);
    EXPECT_TRUE(ctx.SawMessage("VMA-map-invalid"));
    vkFreeMemory(ctx.device, a, nullptr);
    // Stale handle: freed above. Forged handle: never issued.
    vkFreeMemory(ctx.device, a, nullptr);
    EXPECT_TRUE(ctx.SawMessage("VMA-invalid-handle"));
    EXPECT_EQ(vkMapMemory(ctx.device, reinterpret_cast<VkDeviceMemory>(0x1234), 0, 16, 0, &p),
              VK_ERROR_MEMORY_MAP_FAILED);
    // The other allocation is intact.
    void* q = nullptr;
    vkUnmapMemory(ctx.device, keep);
    ASSERT_EQ(vkMapMemory(ctx.device, keep, 0, VK_WHOLE_SIZE, 0, &q), VK_SUCCESS);
    for (int i = 0; i < 4096; ++i) ASSERT_EQ(static_cast<std::uint8_t*>(q)[i], 0xAB);
    vkFreeMemory(ctx.device, keep, nullptr);
}

TEST_F(LayerTest, BindOneAndTwoWithCopyThroughTheQueue) {
    Context ctx;
    ASSERT_EQ(ctx.Create(), VK_SUCCESS);
    const VkDeviceSize kSize = 65536;
    VkBuffer src = MakeBuffer(ctx, kSize);
    VkBuffer dst = MakeBuffer(ctx, kSize);
    VkMemoryRequirements req{};
    vkGetBufferMemoryRequirements(ctx.device, src, &req);
    const std::uint32_t type = ctx.FindType(VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT, req.memoryTypeBits);
    VkDeviceMemory padding = Allocate(ctx, 300, type);  // so the slices below start mid-block
    VkDeviceMemory srcMemory = Allocate(ctx, req.size + req.alignment, type);
    VkDeviceMemory dstMemory = Allocate(ctx, req.size, type);
    ASSERT_EQ(vkBindBufferMemory(ctx.device, src, srcMemory, req.alignment), VK_SUCCESS);
    VkBindBufferMemoryInfo bind{};
    bind.sType = VK_STRUCTURE_TYPE_BIND_BUFFER_MEMORY_INFO;
    bind.buffer = dst;
    bind.memory = dstMemory;
    ASSERT_EQ(vkBindBufferMemory2(ctx.device, 1, &bind), VK_SUCCESS);
    void* p = nullptr;
    ASSERT_EQ(vkMapMemory(ctx.device, srcMemory, req.alignment, kSize, 0, &p), VK_SUCCESS);
    for (VkDeviceSize i = 0; i < kSize; ++i) static_cast<std::uint8_t*>(p)[i] = static_cast<std::uint8_t>(i * 7 + 3);
    vkUnmapMemory(ctx.device, srcMemory);

    ASSERT_EQ(ctx.SubmitAndWait([&](VkCommandBuffer cb) {
                  VkBufferCopy region{0, 0, kSize};
                  vkCmdCopyBuffer(cb, src, dst, 1, &region);
              }),
              VK_SUCCESS);
    ASSERT_EQ(vkMapMemory(ctx.device, dstMemory, 0, VK_WHOLE_SIZE, 0, &p), VK_SUCCESS);
    for (VkDeviceSize i = 0; i < kSize; ++i) {
        ASSERT_EQ(static_cast<std::uint8_t*>(p)[i], static_cast<std::uint8_t>(i * 7 + 3)) << "byte " << i;
    }
    vkUnmapMemory(ctx.device, dstMemory);
    vkDestroyBuffer(ctx.device, src, nullptr);
    vkDestroyBuffer(ctx.device, dst, nullptr);
    for (auto m : {padding, srcMemory, dstMemory}) vkFreeMemory(ctx.device, m, nullptr);
}

TEST_F(LayerTest, BindOutsideTheSliceIsReportedAndRefused) {
    Context ctx;
    ASSERT_EQ(ctx.Create(), VK_SUCCESS);
    VkBuffer buffer = MakeBuffer(ctx, 4096);
    VkMemoryRequirements req{};
    vkGetBufferMemoryRequirements(ctx.device, buffer, &req);
    const std::uint32_t type = ctx.FindType(0, req.memoryTypeBits);
    VkDeviceMemory small = Allocate(ctx, 1024, type);  // too small for the buffer
    VkDeviceMemory next = Allocate(ctx, 8192, type);   // its neighbour in the block
    EXPECT_NE(vkBindBufferMemory(ctx.device, buffer, small, 0), VK_SUCCESS);
    EXPECT_TRUE(ctx.SawMessage("VMA-bind-invalid")) << ctx.AllMessages();
    EXPECT_TRUE(ctx.SawMessage("VUID-vkBindBufferMemory-size-01037")) << ctx.AllMessages();
    EXPECT_EQ(vkBindBufferMemory(ctx.device, buffer, next, 0), VK_SUCCESS);
    vkDestroyBuffer(ctx.device, buffer, nullptr);
    vkFreeMemory(ctx.device, small, nullptr);
    vkFreeMemory(ctx.device, next, nullptr);
}

TEST_F(LayerTest, ImageBindsOneAndTwo) {
    Context ctx;
    ASSERT_EQ(ctx.Create(), VK_SUCCESS);
    VkImageCreateInfo ii = vma::test::ImageInfo64(VK_IMAGE_TILING_OPTIMAL,
                                                  VK_IMAGE_USAGE_TRANSFER_DST_BIT | VK_IMAGE_USAGE_SAMPLED_BIT);
    VkImage images[2];
    ASSERT_EQ(vkCreateImage(ctx.device, &ii, nullptr, &images[0]), VK_SUCCESS);
    ASSERT_EQ(vkCreateImage(ctx.device, &ii, nullptr, &images[1]), VK_SUCCESS);
    VkMemoryRequirements req{};
    vkGetImageMemoryRequirements(ctx.device, images[0], &req);
    VkImageMemoryRequirementsInfo2 info{};
    info.sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_REQUIREMENTS_INFO_2;
    info.image = images[1];
    VkMemoryRequirements2 req2{};
    req2.sType = VK_STRUCTURE_TYPE_MEMORY_REQUIREMENTS_2;
    vkGetImageMemoryRequirements2(ctx.device, &info, &req2);
    const std::uint32_t type = ctx.FindType(0, req.memoryTypeBits);
    VkDeviceMemory m0 = Allocate(ctx, req.size, type);
    VkDeviceMemory m1 = Allocate(ctx, req2.memoryRequirements.size, type);
    EXPECT_EQ(vkBindImageMemory(ctx.device, images[0], m0, 0), VK_SUCCESS);
    VkBindImageMemoryInfo bind{};
    bind.sType = VK_STRUCTURE_TYPE_BIND_IMAGE_MEMORY_INFO;
    bind.image = images[1];
    bind.memory = m1;
    EXPECT_EQ(vkBindImageMemory2(ctx.device, 1, &bind), VK_SUCCESS);
    EXPECT_FALSE(ctx.SawMessage("VMA-bind-invalid")) << ctx.AllMessages();
    for (auto i : images) vkDestroyImage(ctx.device, i, nullptr);
    vkFreeMemory(ctx.device, m0, nullptr);
    vkFreeMemory(ctx.device, m1, nullptr);
}

TEST_F(LayerTest, NamesAndPrivateDataOnVirtualHandles) {
    Context ctx;
    ASSERT_EQ(ctx.Create(), VK_SUCCESS);
    VkDeviceMemory a = Allocate(ctx, 512, 0);
    VkDeviceMemory b = Allocate(ctx, 512, 0);
    auto setName = reinterpret_cast<PFN_vkSetDebugUtilsObjectNameEXT>(
        vkGetInstanceProcAddr(ctx.instance, "vkSetDebugUtilsObjectNameEXT"));
    VkDebugUtilsObjectNameInfoEXT name{};
    name.sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_OBJECT_NAME_INFO_EXT;
    name.objectType = VK_OBJECT_TYPE_DEVICE_MEMORY;
    name.objectHandle = reinterpret_cast<std::uint64_t>(a);
    name.pObjectName = "vertex pool";
    EXPECT_EQ(setName(ctx.device, &name), VK_SUCCESS);

    VkPrivateDataSlotCreateInfo si{};
    si.sType = VK_STRUCTURE_TYPE_PRIVATE_DATA_SLOT_CREATE_INFO;
    VkPrivateDataSlot slot;
    ASSERT_EQ(vkCreatePrivateDataSlot(ctx.device, &si, nullptr, &slot), VK_SUCCESS);
    // a and b share one block: their private data must not.
    EXPECT_EQ(vkSetPrivateData(ctx.device, VK_OBJECT_TYPE_DEVICE_MEMORY, reinterpret_cast<std::uint64_t>(a), slot, 111),
              VK_SUCCESS);
    EXPECT_EQ(vkSetPrivateData(ctx.device, VK_OBJECT_TYPE_DEVICE_MEMORY, reinterpret_cast<std::uint64_t>(b), slot, 222),
              VK_SUCCESS);
    std::uint64_t value = 0;
    vkGetPrivateData(ctx.device, VK_OBJECT_TYPE_DEVICE_MEMORY, reinterpret_cast<std::uint64_t>(a), slot, &value);
    EXPECT_EQ(value, 111u);
    vkGetPrivateData(ctx.device, VK_OBJECT_TYPE_DEVICE_MEMORY, reinterpret_cast<std::uint64_t>(b), slot, &value);
    EXPECT_EQ(value, 222u);
    vkFreeMemory(ctx.device, a, nullptr);
    vkFreeMemory(ctx.device, b, nullptr);
    vkDestroyPrivateDataSlot(ctx.device, slot, nullptr);
    EXPECT_FALSE(ctx.SawMessage("VMA-invalid-handle")) << ctx.AllMessages();
}

TEST_F(LayerTest, ExportAllocationsGetTheirOwnMemory) {
    Context ctx;
    ASSERT_EQ(ctx.Create(nullptr, VK_API_VERSION_1_3, {VK_KHR_EXTERNAL_MEMORY_FD_EXTENSION_NAME}), VK_SUCCESS);
    VkExportMemoryAllocateInfo exportInfo{};
    exportInfo.sType = VK_STRUCTURE_TYPE_EXPORT_MEMORY_ALLOCATE_INFO;
    exportInfo.handleTypes = VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT;
    VkDeviceMemory exported = Allocate(ctx, 65536, 0, &exportInfo);
    VkDeviceMemory pooled = Allocate(ctx, 65536, 0);
    auto getFd = reinterpret_cast<PFN_vkGetMemoryFdKHR>(vkGetDeviceProcAddr(ctx.device, "vkGetMemoryFdKHR"));
    ASSERT_NE(getFd, nullptr);
    VkMemoryGetFdInfoKHR fdInfo{};
    fdInfo.sType = VK_STRUCTURE_TYPE_MEMORY_GET_FD_INFO_KHR;
    fdInfo.memory = exported;
    fdInfo.handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT;
    int fd = -1;
    EXPECT_EQ(getFd(ctx.device, &fdInfo, &fd), VK_SUCCESS);
    EXPECT_GE(fd, 0);
    if (fd >= 0) close(fd);
    fdInfo.memory = pooled;
    EXPECT_EQ(getFd(ctx.device, &fdInfo, &fd), VK_ERROR_INVALID_EXTERNAL_HANDLE);
    EXPECT_TRUE(ctx.SawMessage("VMA-export-not-exportable"));
    vkFreeMemory(ctx.device, exported, nullptr);
    vkFreeMemory(ctx.device, pooled, nullptr);
}

TEST_F(LayerTest, SparseBindThroughVirtualHandles) {
    Context ctx;
    ctx.enableSparseBinding = true;
    ASSERT_EQ(ctx.Create(), VK_SUCCESS);
    VkPhysicalDeviceFeatures features{};
    vkGetPhysicalDeviceFeatures(ctx.physicalDevice, &features);
    std::uint32_t familyCount = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(ctx.physicalDevice, &familyCount, nullptr);
    std::vector<VkQueueFamilyProperties> families(familyCount);
    vkGetPhysicalDeviceQueueFamilyProperties(ctx.physicalDevice, &familyCount, families.data());
    if (!features.sparseBinding || !(families[ctx.queueFamily].queueFlags & VK_QUEUE_SPARSE_BINDING_BIT)) {
        GTEST_SKIP() << "this driver has no sparseBinding (lavapipe 22.3 has none): vkQueueBindSparse is covered "
                        "on the GPU machine (scripts/gpu-check.sh)";
    }
    // A sparse buffer of four sparse blocks, bound in two halves to two virtual allocations that
    // share one real block, then filled and read back through a host-visible copy.
    VkBufferCreateInfo bi{};
    bi.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
    bi.flags = VK_BUFFER_CREATE_SPARSE_BINDING_BIT;
    bi.usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    VkBuffer probe;
    bi.size = 1;
    ASSERT_EQ(vkCreateBuffer(ctx.device, &bi, nullptr, &probe), VK_SUCCESS);
    VkMemoryRequirements req{};
    vkGetBufferMemoryRequirements(ctx.device, probe, &req);
    vkDestroyBuffer(ctx.device, probe, nullptr);
    const VkDeviceSize blockSize = req.alignment;
    bi.size = 4 * blockSize;
    VkBuffer sparse;
    ASSERT_EQ(vkCreateBuffer(ctx.device, &bi, nullptr, &sparse), VK_SUCCESS);
    vkGetBufferMemoryRequirements(ctx.device, sparse, &req);
    const std::uint32_t type = ctx.FindType(0, req.memoryTypeBits);
    VkDeviceMemory filler = Allocate(ctx, 1000, type);  // the halves do not start at block offset 0
    VkDeviceMemory halves[2] = {Allocate(ctx, 2 * blockSize, type), Allocate(ctx, 2 * blockSize, type)};
    VkSparseMemoryBind binds[2]{};
    for (int i = 0; i < 2; ++i) {
        binds[i].resourceOffset = i * 2 * blockSize;
        binds[i].size = 2 * blockSize;
        binds[i].memory = halves[i];
        binds[i].memoryOffset = 0;
    }
    VkSparseBufferMemoryBindInfo bufferBind{sparse, 2, binds};
    VkBindSparseInfo info{};
    info.sType = VK_STRUCTURE_TYPE_BIND_SPARSE_INFO;
    info.bufferBindCount = 1;
    info.pBufferBinds = &bufferBind;
    ASSERT_EQ(vkQueueBindSparse(ctx.queue, 1, &info, VK_NULL_HANDLE), VK_SUCCESS);
    ASSERT_EQ(vkQueueWaitIdle(ctx.queue), VK_SUCCESS);
    EXPECT_FALSE(ctx.SawMessage("VMA-")) << ctx.AllMessages();

    // Round trip: host buffer -> sparse buffer -> host buffer.
    bi.flags = 0;
    bi.size = 4 * blockSize;
    VkBuffer host[2];
    VkDeviceMemory hostMemory[2];
    for (int i = 0; i < 2; ++i) {
        ASSERT_EQ(vkCreateBuffer(ctx.device, &bi, nullptr, &host[i]), VK_SUCCESS);
        VkMemoryRequirements hr{};
        vkGetBufferMemoryRequirements(ctx.device, host[i], &hr);
        hostMemory[i] = Allocate(ctx, hr.size, ctx.FindType(VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                                                  VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
                                                              hr.memoryTypeBits));
        ASSERT_EQ(vkBindBufferMemory(ctx.device, host[i], hostMemory[i], 0), VK_SUCCESS);
    }
    void* p = nullptr;
    ASSERT_EQ(vkMapMemory(ctx.device, hostMemory[0], 0, VK_WHOLE_SIZE, 0, &p), VK_SUCCESS);
    for (VkDeviceSize i = 0; i < bi.size / 4; ++i) static_cast<std::uint32_t*>(p)[i] = static_cast<std::uint32_t>(i * 2654435761u);
    vkUnmapMemory(ctx.device, hostMemory[0]);
    ASSERT_EQ(ctx.SubmitAndWait([&](VkCommandBuffer cb) {
                  VkBufferCopy region{0, 0, bi.size};
                  vkCmdCopyBuffer(cb, host[0], sparse, 1, &region);
                  VkMemoryBarrier barrier{};
                  barrier.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
                  barrier.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
                  barrier.dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT;
                  vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1,
                                       &barrier, 0, nullptr, 0, nullptr);
                  vkCmdCopyBuffer(cb, sparse, host[1], 1, &region);
              }),
              VK_SUCCESS);
    ASSERT_EQ(vkMapMemory(ctx.device, hostMemory[1], 0, VK_WHOLE_SIZE, 0, &p), VK_SUCCESS);
    for (VkDeviceSize i = 0; i < bi.size / 4; ++i) {
        ASSERT_EQ(static_cast<std::uint32_t*>(p)[i], static_cast<std::uint32_t>(i * 2654435761u)) << "word " << i;
    }
    vkUnmapMemory(ctx.device, hostMemory[1]);
    vkDestroyBuffer(ctx.device, sparse, nullptr);
    for (auto b : host) vkDestroyBuffer(ctx.device, b, nullptr);
    for (auto m : {filler, halves[0], halves[1], hostMemory[0], hostMemory[1]}) vkFreeMemory(ctx.device, m, nullptr);
}

TEST_F(LayerTest, CommitmentOnlyOnLazilyAllocatedTypes) {
    Context ctx;
    ASSERT_EQ(ctx.Create(), VK_SUCCESS);
    std::uint32_t lazy = UINT32_MAX;
    for (std::uint32_t i = 0; i < ctx.memoryProperties.memoryTypeCount; ++i) {
        if (ctx.memoryProperties.memoryTypes[i].propertyFlags & VK_MEMORY_PROPERTY_LAZILY_ALLOCATED_BIT) lazy = i;
    }
    if (lazy == UINT32_MAX) {
        GTEST_SKIP() << "no LAZILY_ALLOCATED memory type on this driver (neither lavapipe nor the H100 has one): "
                        "vkGetDeviceMemoryCommitment is only legal there (VUID-vkGetDeviceMemoryCommitment-memory-00690)";
    }
    VkDeviceMemory memory = Allocate(ctx, 65536, lazy);
    VkDeviceSize committed = ~0ull;
    vkGetDeviceMemoryCommitment(ctx.device, memory, &committed);
    EXPECT_LE(committed, 65536u);
    EXPECT_FALSE(ctx.SawMessage("VMA-")) << ctx.AllMessages();
    vkFreeMemory(ctx.device, memory, nullptr);
}

// Creates a context with `extensions` enabled if the driver (through the layer) offers them.
// Returns false, with the reason in *why, when it does not.
bool CreateWithExtensions(Context& ctx, const std::vector<const char*>& extensions, std::string* why) {
    Context probe;
    if (probe.Create() != VK_SUCCESS) {
        *why = "no device";
        return false;
    }
    for (const char* extension : extensions) {
        if (!Context::Supports(probe.physicalDevice, extension)) {
            *why = std::string(extension) + " is not offered by this driver (lavapipe 22.3 lacks it); covered on "
                   "the GPU machine (scripts/gpu-check.sh)";
            return false;
        }
    }
    probe.Destroy();
    return ctx.Create(nullptr, VK_API_VERSION_1_3, extensions) == VK_SUCCESS;
}

TEST_F(LayerTest, MapMemory2ThroughVirtualHandles) {
    Context ctx;
    std::string why;
    if (!CreateWithExtensions(ctx, {"VK_KHR_map_memory2"}, &why)) GTEST_SKIP() << why;
    auto map2 = reinterpret_cast<PFN_vkMapMemory2KHR>(vkGetDeviceProcAddr(ctx.device, "vkMapMemory2KHR"));
    auto unmap2 = reinterpret_cast<PFN_vkUnmapMemory2KHR>(vkGetDeviceProcAddr(ctx.device, "vkUnmapMemory2KHR"));
    ASSERT_NE(map2, nullptr);
    ASSERT_NE(unmap2, nullptr);
    const std::uint32_t host = ctx.FindType(VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
    VkDeviceMemory a = Allocate(ctx, 3000, host);
    VkDeviceMemory b = Allocate(ctx, 3000, host);
    VkMemoryMapInfoKHR info{};
    info.sType = VK_STRUCTURE_TYPE_MEMORY_MAP_INFO_KHR;
    info.memory = b;
    info.offset = 64;
    info.size = VK_WHOLE_SIZE;
    void* p = nullptr;
    ASSERT_EQ(map2(ctx.device, &info, &p), VK_SUCCESS);
    std::memset(p, 0x3C, 3000 - 64);
    VkMemoryUnmapInfoKHR unmap{};
    unmap.sType = VK_STRUCTURE_TYPE_MEMORY_UNMAP_INFO_KHR;
    unmap.memory = b;
    ASSERT_EQ(unmap2(ctx.device, &unmap), VK_SUCCESS);
    EXPECT_EQ(unmap2(ctx.device, &unmap), VK_ERROR_MEMORY_MAP_FAILED);  // not mapped any more: reported
    EXPECT_TRUE(ctx.SawMessage("VMA-unmap-not-mapped"));
    ASSERT_EQ(vkMapMemory(ctx.device, b, 0, VK_WHOLE_SIZE, 0, &p), VK_SUCCESS);
    for (int i = 64; i < 3000; ++i) ASSERT_EQ(static_cast<std::uint8_t*>(p)[i], 0x3C) << "byte " << i;
    vkFreeMemory(ctx.device, a, nullptr);
    vkFreeMemory(ctx.device, b, nullptr);
}

TEST_F(LayerTest, MemoryPriorityOnSlicesAndOwnMemory) {
    Context ctx;
    std::string why;
    // vkSetDeviceMemoryPriorityEXT needs the pageableDeviceLocalMemory feature, which needs memory priority.
    VkPhysicalDevicePageableDeviceLocalMemoryFeaturesEXT pageable{};
    pageable.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PAGEABLE_DEVICE_LOCAL_MEMORY_FEATURES_EXT;
    pageable.pageableDeviceLocalMemory = VK_TRUE;
    ctx.deviceNext = &pageable;
    if (!CreateWithExtensions(ctx, {"VK_EXT_memory_priority", "VK_EXT_pageable_device_local_memory"}, &why)) {
        GTEST_SKIP() << why;
    }
    auto setPriority = reinterpret_cast<PFN_vkSetDeviceMemoryPriorityEXT>(
        vkGetDeviceProcAddr(ctx.device, "vkSetDeviceMemoryPriorityEXT"));
    ASSERT_NE(setPriority, nullptr);
    const std::uint32_t local = ctx.FindType(VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
    VkDeviceMemory pooled = Allocate(ctx, 4096, local);
    VkMemoryDedicatedAllocateInfo dedicated{};  // a dedicated allocation is never pooled
    dedicated.sType = VK_STRUCTURE_TYPE_MEMORY_DEDICATED_ALLOCATE_INFO;
    VkBufferCreateInfo bi{};
    bi.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
    bi.size = 4096;
    bi.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;
    ASSERT_EQ(vkCreateBuffer(ctx.device, &bi, nullptr, &dedicated.buffer), VK_SUCCESS);
    VkMemoryRequirements req{};
    vkGetBufferMemoryRequirements(ctx.device, dedicated.buffer, &req);
    VkDeviceMemory own = Allocate(ctx, req.size, ctx.FindType(VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, req.memoryTypeBits),
                                  &dedicated);
    ASSERT_EQ(vkBindBufferMemory(ctx.device, dedicated.buffer, own, 0), VK_SUCCESS);
    setPriority(ctx.device, pooled, 1.0f);  // recorded, not applied to the shared block
    setPriority(ctx.device, own, 0.25f);    // reaches the driver with the real handle
    EXPECT_FALSE(ctx.SawMessage("VMA-")) << ctx.AllMessages();
    vkDestroyBuffer(ctx.device, dedicated.buffer, nullptr);
    vkFreeMemory(ctx.device, pooled, nullptr);
    vkFreeMemory(ctx.device, own, nullptr);
}

// LLP_LAYER_14: the layer's own host memory (its per-device records, the slot table behind the
// virtual handles) comes from the app's allocator when the app gives one.
struct CountingAllocator {
    std::atomic<std::uint64_t> allocations{0};
    std::atomic<std::uint64_t> fromLayer{0};  // calls made from inside libVkLayer_vma.so
    std::atomic<std::int64_t> live{0};
    static void* Allocate(void* user, size_t size, size_t alignment, VkSystemAllocationScope) {
        auto* self = static_cast<CountingAllocator*>(user);
        self->allocations++;
        self->live++;
        Dl_info info{};
        if (dladdr(__builtin_return_address(0), &info) && info.dli_fname &&
            std::strstr(info.dli_fname, "libVkLayer_vma.so")) {
            self->fromLayer++;
        }
        return std::aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment);
    }
    static void* Reallocate(void* user, void* original, size_t size, size_t alignment, VkSystemAllocationScope) {
        auto* self = static_cast<CountingAllocator*>(user);
        if (!original) self->live++;
        self->allocations++;
        void* p = std::aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment);
        if (original) {
            std::memcpy(p, original, std::min<size_t>(size, malloc_usable_size(original)));
            std::free(original);
        }
        return p;
    }
    static void Free(void* user, void* memory) {
        if (!memory) return;
        static_cast<CountingAllocator*>(user)->live--;
        std::free(memory);
    }
    VkAllocationCallbacks Callbacks() {
        VkAllocationCallbacks c{};
        c.pUserData = this;
        c.pfnAllocation = Allocate;
        c.pfnReallocation = Reallocate;
        c.pfnFree = Free;
        return c;
    }
};

TEST_F(LayerTest, LayerHostMemoryComesFromTheAppAllocator) {
    auto run = [&](bool withLayer, CountingAllocator& counter) {
        if (!withLayer) unsetenv("VK_INSTANCE_LAYERS");
        VkAllocationCallbacks callbacks = counter.Callbacks();
        VkApplicationInfo app{};
        app.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO;
        app.apiVersion = VK_API_VERSION_1_3;
        VkInstanceCreateInfo ci{};
        ci.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO;
        ci.pApplicationInfo = &app;
        VkInstance instance;
        ASSERT_EQ(vkCreateInstance(&ci, &callbacks, &instance), VK_SUCCESS);
        std::uint32_t count = 1;
        VkPhysicalDevice physical;
        vkEnumeratePhysicalDevices(instance, &count, &physical);
        const float priority = 1.f;
        VkDeviceQueueCreateInfo qi{};
        qi.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO;
        qi.queueCount = 1;
        qi.pQueuePriorities = &priority;
        VkDeviceCreateInfo di{};
        di.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO;
        di.queueCreateInfoCount = 1;
        di.pQueueCreateInfos = &qi;
        VkDevice device;
        ASSERT_EQ(vkCreateDevice(physical, &di, &callbacks, &device), VK_SUCCESS);
        VkPhysicalDeviceMemoryProperties props;
        vkGetPhysicalDeviceMemoryProperties(physical, &props);
        std::uint32_t host = 0;
        while (!(props.memoryTypes[host].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT)) ++host;
        std::vector<VkDeviceMemory> memories(5000);  // more handles than one slot chunk holds
        for (auto& m : memories) {
            VkMemoryAllocateInfo info{};
            info.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
            info.allocationSize = 256;
            info.memoryTypeIndex = host;
            ASSERT_EQ(vkAllocateMemory(device, &info, nullptr, &m), VK_SUCCESS);
        }
        for (auto m : memories) vkFreeMemory(device, m, nullptr);
        vkDestroyDevice(device, &callbacks);
        vkDestroyInstance(instance, &callbacks);
        setenv("VK_INSTANCE_LAYERS", "VK_LAYER_VMA_suballocator", 1);
    };
    CountingAllocator without, with;
    run(false, without);
    run(true, with);
    EXPECT_EQ(without.fromLayer.load(), 0u);
    // Instance record, device record and two chunks of the slot table at least.
    EXPECT_GE(with.fromLayer.load(), 4u);
    EXPECT_EQ(with.live.load(), 0) << "memory taken from the app's allocator was not given back";
}

TEST_F(LayerTest, ThreadsAllocateMapBindFreeConcurrently) {
    Context ctx;
    ASSERT_EQ(ctx.Create(), VK_SUCCESS);
    const int kThreads = 8;
    const int kOps = std::getenv("VMA_TEST_THREAD_OPS") ? std::atoi(std::getenv("VMA_TEST_THREAD_OPS")) : 100000;
    // Each thread keeps one 256 B buffer per live allocation and binds it at a random aligned
    // offset, so binds from all threads land in shared blocks at the same time.
    VkBufferCreateInfo bi{};
    bi.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
    bi.size = 256;
    bi.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;
    VkBuffer probe;
    ASSERT_EQ(vkCreateBuffer(ctx.device, &bi, nullptr, &probe), VK_SUCCESS);
    VkMemoryRequirements req{};
    vkGetBufferMemoryRequirements(ctx.device, probe, &req);
    vkDestroyBuffer(ctx.device, probe, nullptr);
    const std::uint32_t host = ctx.FindType(VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT, req.memoryTypeBits);
    ASSERT_NE(host, UINT32_MAX);
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            std::mt19937 rng(t + 1);
            struct Live {
                VkDeviceMemory memory;
                VkBuffer buffer;
                VkDeviceSize offset;
                std::uint32_t tag;
            };
            std::vector<Live> live;
            auto release = [&](const Live& l) {
                void* p = nullptr;
                if (vkMapMemory(ctx.device, l.memory, 0, VK_WHOLE_SIZE, 0, &p) != VK_SUCCESS ||
                    *reinterpret_cast<std::uint32_t*>(static_cast<char*>(p) + l.offset) != l.tag) {
                    ++failures;
                }
                vkDestroyBuffer(ctx.device, l.buffer, nullptr);
                vkFreeMemory(ctx.device, l.memory, nullptr);  // freed while mapped
            };
            for (int op = 0; op < kOps; ++op) {
                if (live.size() > 64 || (!live.empty() && rng() % 2)) {
                    release(live.back());
                    live.pop_back();
                    continue;
                }
                VkMemoryAllocateInfo info{};
                info.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
                info.allocationSize = 512 + rng() % 4096;
                info.memoryTypeIndex = host;
                Live l{};
                if (vkAllocateMemory(ctx.device, &info, nullptr, &l.memory) != VK_SUCCESS) {
                    ++failures;
                    continue;
                }
                if (vkCreateBuffer(ctx.device, &bi, nullptr, &l.buffer) != VK_SUCCESS) ++failures;
                VkMemoryRequirements r{};
                vkGetBufferMemoryRequirements(ctx.device, l.buffer, &r);
                l.offset = (rng() % ((info.allocationSize - r.size) / r.alignment + 1)) * r.alignment;
                if (vkBindBufferMemory(ctx.device, l.buffer, l.memory, l.offset) != VK_SUCCESS) ++failures;
                void* p = nullptr;
                l.tag = (static_cast<std::uint32_t>(t) << 24) | static_cast<std::uint32_t>(op & 0xFFFFFF);
                if (vkMapMemory(ctx.device, l.memory, 0, VK_WHOLE_SIZE, 0, &p) != VK_SUCCESS) {
                    ++failures;
                } else {
                    *reinterpret_cast<std::uint32_t*>(static_cast<char*>(p) + l.offset) = l.tag;
                    vkUnmapMemory(ctx.device, l.memory);
                }
                live.push_back(l);
            }
            for (const auto& l : live) release(l);
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_FALSE(ctx.SawMessage("VMA-")) << ctx.AllMessages();
}

}  // namespace
