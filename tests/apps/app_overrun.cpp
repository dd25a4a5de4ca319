// app_overrun: plants a GPU memory overrun, the bug detect_corruption exists to catch.
//
// Three allocations of --size bytes side by side (device-local memory the CPU cannot map when the
// device has such a type); a storage buffer fills the middle one exactly. A compute shader writes
// through the buffer's device address (not bounds-checked) from --before bytes before its start to
// --after bytes past its end, then the program frees everything. Without the layer nothing notices;
// with VK_VMA_SUBALLOCATOR_DETECT_CORRUPTION=1 the layer must report the damaged margin and its
// exact byte range at vkFreeMemory.
//
//   app_overrun [--size BYTES] [--after BYTES] [--before BYTES] [--quiet]
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "app_common.h"
#include "overrun.comp.h"  // generated at build time by glslangValidator

using namespace vkapp;

namespace {

const char* kUsage =
    "usage: app_overrun [--size BYTES] [--after BYTES] [--before BYTES] [--quiet]\n"
    "  Writes from BYTES before to BYTES after a device-local buffer through its device address\n"
    "  (defaults: --size 65536 --after 16 --before 0; multiples of 4).";

struct Push {
  uint32_t address[2];
  uint32_t count;
  uint32_t value;
};

void Run(const Options& options) {
  VkDeviceSize size = 65536, after = 16, before = 0;
  for (size_t i = 0; i < options.args.size(); ++i) {
    const std::string& a = options.args[i];
    if (i + 1 >= options.args.size()) Fail(kExitUsage, "missing value for " + a);
    const uint64_t v = ParseUnsigned(options.args[++i], a.c_str());
    if (a == "--size") size = v;
    else if (a == "--after") after = v;
    else if (a == "--before") before = v;
    else Fail(kExitUsage, "unknown option " + a);
  }
  if (size == 0 || size % 4 || after % 4 || before % 4 || after > 4096 || before > 4096)
    Fail(kExitUsage, "sizes must be multiples of 4 (size > 0, after and before at most 4096)");

  VkPhysicalDeviceBufferDeviceAddressFeatures bda{};
  bda.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_BUFFER_DEVICE_ADDRESS_FEATURES;
  bda.bufferDeviceAddress = VK_TRUE;
  ContextOptions co;
  co.app_name = "app_overrun";
  co.api_version = VK_API_VERSION_1_2;
  {
    // Feature check before asking for it.
    ContextOptions probe;
    probe.app_name = "app_overrun-probe";
    probe.api_version = VK_API_VERSION_1_2;
    Context ctx(probe);
    VkPhysicalDeviceBufferDeviceAddressFeatures supported{};
    supported.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_BUFFER_DEVICE_ADDRESS_FEATURES;
    VkPhysicalDeviceFeatures2 f2{};
    f2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2;
    f2.pNext = &supported;
    vkGetPhysicalDeviceFeatures2(ctx.physical_device, &f2);
    if (ctx.properties.apiVersion < VK_API_VERSION_1_2 || !supported.bufferDeviceAddress)
      Fail(kExitUnsupported, "bufferDeviceAddress (Vulkan 1.2) is not supported");
  }
  co.device_next = &bda;
  Context ctx(co);

  VkBufferCreateInfo bi{};
  bi.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
  bi.size = size;
  bi.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT;
  VkBuffer buffer = VK_NULL_HANDLE;
  APP_CHECK(vkCreateBuffer(ctx.device, &bi, nullptr, &buffer));
  VkMemoryRequirements req{};
  vkGetBufferMemoryRequirements(ctx.device, buffer, &req);
  // Device-local memory the host cannot see, where a device exposes it (discrete GPUs).
  uint32_t type = UINT32_MAX;
  for (uint32_t t = 0; t < ctx.memory_properties.memoryTypeCount && type == UINT32_MAX; ++t) {
    const VkMemoryPropertyFlags f = ctx.memory_properties.memoryTypes[t].propertyFlags;
    if ((req.memoryTypeBits & (1u << t)) && (f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) &&
        !(f & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT))
      type = t;
  }
  if (type == UINT32_MAX) type = ctx.FindMemoryType(req.memoryTypeBits, 0, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
  const VkDeviceSize allocation = AlignUp(std::max(req.size, size), req.alignment);

  VkMemoryAllocateFlagsInfo flags{};
  flags.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_FLAGS_INFO;
  flags.flags = VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT;
  VkDeviceMemory memory[3];
  for (VkDeviceMemory& m : memory) m = ctx.Allocate(allocation, type, &flags);
  APP_CHECK(vkBindBufferMemory(ctx.device, buffer, memory[1], 0));
  VkBufferDeviceAddressInfo ai{};
  ai.sType = VK_STRUCTURE_TYPE_BUFFER_DEVICE_ADDRESS_INFO;
  ai.buffer = buffer;
  const VkDeviceAddress address = vkGetBufferDeviceAddress(ctx.device, &ai) - before;

  VkShaderModuleCreateInfo smi{};
  smi.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO;
  smi.codeSize = sizeof(kOverrunCompSpirv);
  smi.pCode = kOverrunCompSpirv;
  VkShaderModule module = VK_NULL_HANDLE;
  APP_CHECK(vkCreateShaderModule(ctx.device, &smi, nullptr, &module));
  VkPushConstantRange range{VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof(Push)};
  VkPipelineLayoutCreateInfo pli{};
  pli.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO;
  pli.pushConstantRangeCount = 1;
  pli.pPushConstantRanges = &range;
  VkPipelineLayout layout = VK_NULL_HANDLE;
  APP_CHECK(vkCreatePipelineLayout(ctx.device, &pli, nullptr, &layout));
  VkComputePipelineCreateInfo cpi{};
  cpi.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO;
  cpi.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
  cpi.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  cpi.stage.module = module;
  cpi.stage.pName = "main";
  cpi.layout = layout;
  VkPipeline pipeline = VK_NULL_HANDLE;
  APP_CHECK(vkCreateComputePipelines(ctx.device, VK_NULL_HANDLE, 1, &cpi, nullptr, &pipeline));

  const Push push{{static_cast<uint32_t>(address), static_cast<uint32_t>(address >> 32)},
                  static_cast<uint32_t>((before + size + after) / 4), 0x1000u};
  ctx.SubmitOneShot([&](VkCommandBuffer cmd) {
    vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline);
    vkCmdPushConstants(cmd, layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof(push), &push);
    vkCmdDispatch(cmd, (push.count + 63) / 64, 1, 1);
  });
  Info("memory type %u; wrote %" PRIu64 " bytes before and %" PRIu64 " bytes after a %" PRIu64
       "-byte buffer in a %" PRIu64 "-byte allocation",
       type, static_cast<uint64_t>(before), static_cast<uint64_t>(after), static_cast<uint64_t>(size),
       static_cast<uint64_t>(allocation));

  vkDestroyPipeline(ctx.device, pipeline, nullptr);
  vkDestroyPipelineLayout(ctx.device, layout, nullptr);
  vkDestroyShaderModule(ctx.device, module, nullptr);
  vkDestroyBuffer(ctx.device, buffer, nullptr);
  ctx.Free(memory[1]);
  ctx.Free(memory[0]);
  ctx.Free(memory[2]);
}

}  // namespace

int main(int argc, char** argv) { return RunApp(argc, argv, kUsage, Run); }
