// app_images — a plain Vulkan program that creates optimal-tiling images (several formats and
// sizes, mip chains, array layers) and linear-tiling images, each in its own VkDeviceMemory.
// Optimal images are uploaded through a staging buffer (vkCmdCopyBufferToImage), transitioned
// through several layouts and copied back into a buffer (vkCmdCopyImageToBuffer); every byte is
// verified. Linear images are written by the host through a mapping (rowPitch from
// vkGetImageSubresourceLayout) and read by the GPU, or written by the GPU and read by the host.
// Requirements come from vkGetImageMemoryRequirements2 with VkMemoryDedicatedRequirements (a
// dedicated allocation is made where the driver requires one); binds alternate between
// vkBindImageMemory and vkBindImageMemory2.
//
// Usage: app_images [--quiet]
//
// Output (deterministic lines for comparison):
//   checksum images <hex>   FNV-1a 64 of all optimal-image read-backs (image order, mip order)
//   checksum linear <hex>   FNV-1a 64 of all linear-image data read back (GPU- and host-read)
//   RESULT OK | RESULT FAIL <reason>
// Informational (not for comparison, hidden by --quiet):
//   info image <n> <format> <w>x<h> mips=<m> layers=<l> <tiling> size=<req> alignment=<a>
//        dedicated_preferred=<0|1> dedicated_required=<0|1>
// Exit codes: 0 ok, 1 data mismatch, 2 Vulkan error, 3 validation messages, 4 usage,
//             5 unsupported device, 6 exception (see app_common.h).
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "app_common.h"

using namespace vkapp;

namespace {

const char* kUsage = "usage: app_images [--quiet]";

struct ImageSpec {
  const char* name;
  VkFormat format;
  uint32_t width, height, mips, layers;
};

const ImageSpec kOptimal[] = {
    {"R8G8B8A8_UNORM", VK_FORMAT_R8G8B8A8_UNORM, 64, 64, 7, 1},
    {"R8_UNORM", VK_FORMAT_R8_UNORM, 100, 37, 3, 1},
    {"R16G16_UINT", VK_FORMAT_R16G16_UINT, 33, 65, 4, 1},
    {"R32G32B32A32_UINT", VK_FORMAT_R32G32B32A32_UINT, 17, 9, 1, 3},
    {"B8G8R8A8_UNORM", VK_FORMAT_B8G8R8A8_UNORM, 256, 256, 9, 1},
    {"R8G8B8A8_UINT", VK_FORMAT_R8G8B8A8_UINT, 1, 1, 1, 1},
    {"R16_UNORM", VK_FORMAT_R16_UNORM, 30, 30, 2, 1},
    {"R8G8B8A8_UNORM", VK_FORMAT_R8G8B8A8_UNORM, 513, 129, 1, 1},
    {"R32_UINT", VK_FORMAT_R32_UINT, 200, 200, 5, 2},
    {"R32G32_UINT", VK_FORMAT_R32G32_UINT, 7, 300, 3, 1},
};

const ImageSpec kLinear[] = {
    {"R8G8B8A8_UNORM", VK_FORMAT_R8G8B8A8_UNORM, 64, 48, 1, 1},
    {"R8_UNORM", VK_FORMAT_R8_UNORM, 37, 13, 1, 1},
    {"R32_UINT", VK_FORMAT_R32_UINT, 100, 3, 1, 1},
    {"R16G16_UINT", VK_FORMAT_R16G16_UINT, 129, 31, 1, 1},
};

struct MipRegion {
  VkDeviceSize offset;
  VkDeviceSize size;  // all layers of this mip, tightly packed
  uint32_t width, height;
};

std::vector<MipRegion> LayoutMips(const ImageSpec& s, VkDeviceSize* total) {
  std::vector<MipRegion> mips;
  const uint32_t texel = FormatTexelSize(s.format);
  VkDeviceSize off = 0;
  for (uint32_t m = 0; m < s.mips; ++m) {
    MipRegion r;
    r.width = std::max(1u, s.width >> m);
    r.height = std::max(1u, s.height >> m);
    r.offset = off;
    r.size = VkDeviceSize(r.width) * r.height * texel * s.layers;
    off = AlignUp(off + r.size, 16);  // keeps bufferOffset a multiple of 4 and of the texel size
    mips.push_back(r);
  }
  *total = off;
  return mips;
}

// Image with its own memory, requirements through vkGetImageMemoryRequirements2 with
// VkMemoryDedicatedRequirements; bound with vkBindImageMemory or vkBindImageMemory2.
Image MakeImage(Context& ctx, const ImageSpec& s, uint32_t index, VkImageTiling tiling, VkImageUsageFlags usage,
                VkImageLayout initial, VkMemoryPropertyFlags required, VkMemoryPropertyFlags preferred,
                bool use_bind2) {
  ImageDesc d;
  d.format = s.format;
  d.width = s.width;
  d.height = s.height;
  d.mip_levels = s.mips;
  d.array_layers = s.layers;
  d.tiling = tiling;
  d.usage = usage;
  d.initial_layout = initial;
  Image img;
  img.format = s.format;
  img.width = s.width;
  img.height = s.height;
  img.mip_levels = s.mips;
  img.array_layers = s.layers;
  img.tiling = tiling;
  img.image = CreateImageHandle(ctx, d);

  VkMemoryDedicatedRequirements dedicated{};
  dedicated.sType = VK_STRUCTURE_TYPE_MEMORY_DEDICATED_REQUIREMENTS;
  VkMemoryRequirements2 req2{};
  req2.sType = VK_STRUCTURE_TYPE_MEMORY_REQUIREMENTS_2;
  req2.pNext = &dedicated;
  VkImageMemoryRequirementsInfo2 info{};
  info.sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_REQUIREMENTS_INFO_2;
  info.image = img.image;
  vkGetImageMemoryRequirements2(ctx.device, &info, &req2);
  const VkMemoryRequirements& req = req2.memoryRequirements;
  Info("image %u %s %ux%u mips=%u layers=%u %s size=%llu alignment=%llu dedicated_preferred=%u "
       "dedicated_required=%u",
       index, s.name, s.width, s.height, s.mips, s.layers, tiling == VK_IMAGE_TILING_LINEAR ? "linear" : "optimal",
       static_cast<unsigned long long>(req.size), static_cast<unsigned long long>(req.alignment),
       dedicated.prefersDedicatedAllocation, dedicated.requiresDedicatedAllocation);

  img.memory_type = ctx.FindMemoryType(req.memoryTypeBits, required, preferred);
  img.alloc_size = req.size;
  VkMemoryDedicatedAllocateInfo dedicated_alloc{};
  dedicated_alloc.sType = VK_STRUCTURE_TYPE_MEMORY_DEDICATED_ALLOCATE_INFO;
  dedicated_alloc.image = img.image;
  img.memory = ctx.Allocate(req.size, img.memory_type, dedicated.requiresDedicatedAllocation ? &dedicated_alloc : nullptr);
  if (use_bind2) {
    VkBindImageMemoryInfo bind{};
    bind.sType = VK_STRUCTURE_TYPE_BIND_IMAGE_MEMORY_INFO;
    bind.image = img.image;
    bind.memory = img.memory;
    bind.memoryOffset = 0;
    APP_CHECK(vkBindImageMemory2(ctx.device, 1, &bind));
  } else {
    APP_CHECK(vkBindImageMemory(ctx.device, img.image, img.memory, 0));
  }
  return img;
}

bool Supported(Context& ctx, const ImageSpec& s, VkImageTiling tiling, VkImageUsageFlags usage) {
  VkFormatFeatureFlags features = 0;
  if (usage & VK_IMAGE_USAGE_TRANSFER_SRC_BIT) features |= VK_FORMAT_FEATURE_TRANSFER_SRC_BIT;
  if (usage & VK_IMAGE_USAGE_TRANSFER_DST_BIT) features |= VK_FORMAT_FEATURE_TRANSFER_DST_BIT;
  if (!FormatSupports(ctx, s.format, tiling, features)) return false;
  VkImageFormatProperties props;
  if (vkGetPhysicalDeviceImageFormatProperties(ctx.physical_device, s.format, VK_IMAGE_TYPE_2D, tiling, usage, 0,
                                               &props) != VK_SUCCESS)
    return false;
  return props.maxMipLevels >= s.mips && props.maxArrayLayers >= s.layers && props.maxExtent.width >= s.width &&
         props.maxExtent.height >= s.height;
}

// All optimal images live at the same time (uploads first, read-backs after all uploads), so
// that their memory objects coexist; they are destroyed in an interleaved order.
uint64_t RunOptimal(Context& ctx) {
  struct Item {
    const ImageSpec* spec;
    uint32_t index;
    uint64_t seed;
    std::vector<MipRegion> mips;
    std::vector<VkBufferImageCopy> regions;
    Buffer staging, readback;
    Image image;
  };
  std::vector<Item> items;
  uint32_t index = 0;
  for (const ImageSpec& s : kOptimal) {
    const VkImageUsageFlags usage =
        VK_IMAGE_USAGE_TRANSFER_SRC_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT | VK_IMAGE_USAGE_SAMPLED_BIT;
    if (!Supported(ctx, s, VK_IMAGE_TILING_OPTIMAL, usage)) {
      Info("image %u %s: not supported with optimal tiling, skipped", index, s.name);
      ++index;
      continue;
    }
    Item it;
    it.spec = &s;
    it.index = index;
    it.seed = 0x1a6e0000ull + index;
    VkDeviceSize total = 0;
    it.mips = LayoutMips(s, &total);

    it.staging = CreateBuffer(ctx, total, VK_BUFFER_USAGE_TRANSFER_SRC_BIT, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT,
                              VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
    uint8_t* sp = static_cast<uint8_t*>(MapBuffer(ctx, it.staging));
    std::memset(sp, 0, static_cast<size_t>(total));
    for (const MipRegion& r : it.mips) FillPattern(sp + r.offset, static_cast<size_t>(r.size), it.seed, r.offset);
    ctx.FlushIfNeeded(it.staging.memory, it.staging.memory_type);
    UnmapBuffer(ctx, it.staging);

    it.image = MakeImage(ctx, s, index, VK_IMAGE_TILING_OPTIMAL, usage, VK_IMAGE_LAYOUT_UNDEFINED, 0,
                         VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, index % 2 == 1);
    it.readback = CreateBuffer(ctx, total, VK_BUFFER_USAGE_TRANSFER_DST_BIT, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT,
                               VK_MEMORY_PROPERTY_HOST_COHERENT_BIT | VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
    for (uint32_t m = 0; m < s.mips; ++m) {
      VkBufferImageCopy c{};
      c.bufferOffset = it.mips[m].offset;
      c.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, m, 0, s.layers};
      c.imageExtent = {it.mips[m].width, it.mips[m].height, 1};
      it.regions.push_back(c);
    }
    // Upload, one submit per image (as a simple engine does); the image becomes a texture.
    ctx.SubmitOneShot([&](VkCommandBuffer cmd) {
      CmdImageBarrier(cmd, it.image.image, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_UNDEFINED,
                      VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, 0,
                      VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT);
      vkCmdCopyBufferToImage(cmd, it.staging.buffer, it.image.image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                             static_cast<uint32_t>(it.regions.size()), it.regions.data());
      CmdImageBarrier(cmd, it.image.image, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                      VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL, VK_PIPELINE_STAGE_TRANSFER_BIT,
                      VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_READ_BIT);
    });
    items.push_back(std::move(it));
    ++index;
  }
  // Staging buffers of even images go away before the read-back (freeing interleaved memory).
  for (size_t i = 0; i < items.size(); i += 2) DestroyBuffer(ctx, items[i].staging);

  // Read everything back in one submit (a "screenshot" of every texture).
  ctx.SubmitOneShot([&](VkCommandBuffer cmd) {
    for (Item& it : items) {
      CmdImageBarrier(cmd, it.image.image, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL,
                      VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0,
                      VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_READ_BIT);
      vkCmdCopyImageToBuffer(cmd, it.image.image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, it.readback.buffer,
                             static_cast<uint32_t>(it.regions.size()), it.regions.data());
    }
    CmdMemoryBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_HOST_BIT,
                     VK_ACCESS_HOST_READ_BIT);
  });

  Fnv1a64 sum;
  for (Item& it : items) {
    const uint8_t* rp = static_cast<const uint8_t*>(MapBuffer(ctx, it.readback));
    ctx.InvalidateIfNeeded(it.readback.memory, it.readback.memory_type);
    for (uint32_t m = 0; m < it.spec->mips; ++m) {
      const MipRegion& r = it.mips[m];
      VerifyPattern(rp + r.offset, static_cast<size_t>(r.size), it.seed,
                    "optimal image " + std::to_string(it.index) + " " + it.spec->name + " mip " + std::to_string(m),
                    r.offset);
      sum.Update(rp + r.offset, static_cast<size_t>(r.size));
    }
  }
  // Interleaved teardown: odd items first, then even ones; readbacks are freed while mapped.
  for (size_t pass = 0; pass < 2; ++pass)
    for (size_t i = 1 - pass; i < items.size(); i += 2) {
      DestroyImage(ctx, items[i].image);
      DestroyBuffer(ctx, items[i].readback);
      DestroyBuffer(ctx, items[i].staging);
    }
  return sum.value();
}

uint64_t RunLinear(Context& ctx) {
  Fnv1a64 sum;
  uint32_t index = 100;
  for (const ImageSpec& s : kLinear) {
    const VkImageUsageFlags usage = VK_IMAGE_USAGE_TRANSFER_SRC_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT;
    if (!Supported(ctx, s, VK_IMAGE_TILING_LINEAR, usage)) {
      Info("image %u %s: not supported with linear tiling, skipped", index, s.name);
      index += 2;
      continue;
    }
    const uint32_t texel = FormatTexelSize(s.format);
    const size_t row_bytes = size_t(s.width) * texel;
    const size_t tight = row_bytes * s.height;
    const uint64_t seed = 0x11ea0000ull + index;
    const VkImageSubresource sub{VK_IMAGE_ASPECT_COLOR_BIT, 0, 0};

    // A: host writes rows through the mapping, GPU copies the image to a buffer.
    Image a = MakeImage(ctx, s, index, VK_IMAGE_TILING_LINEAR, usage, VK_IMAGE_LAYOUT_PREINITIALIZED,
                        VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT, VK_MEMORY_PROPERTY_HOST_COHERENT_BIT, false);
    // B: GPU copies a buffer into the image, host reads rows through the mapping.
    Image b = MakeImage(ctx, s, index + 1, VK_IMAGE_TILING_LINEAR, usage, VK_IMAGE_LAYOUT_UNDEFINED,
                        VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT,
                        VK_MEMORY_PROPERTY_HOST_COHERENT_BIT | VK_MEMORY_PROPERTY_HOST_CACHED_BIT, true);
    VkSubresourceLayout la, lb;
    vkGetImageSubresourceLayout(ctx.device, a.image, &sub, &la);
    vkGetImageSubresourceLayout(ctx.device, b.image, &sub, &lb);

    void* p = nullptr;
    APP_CHECK(vkMapMemory(ctx.device, a.memory, 0, VK_WHOLE_SIZE, 0, &p));
    for (uint32_t y = 0; y < s.height; ++y)
      FillPattern(static_cast<uint8_t*>(p) + la.offset + y * la.rowPitch, row_bytes, seed, y * row_bytes);
    ctx.FlushIfNeeded(a.memory, a.memory_type);
    vkUnmapMemory(ctx.device, a.memory);

    Buffer src = CreateBuffer(ctx, tight, VK_BUFFER_USAGE_TRANSFER_SRC_BIT, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT,
                              VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
    FillPattern(MapBuffer(ctx, src), tight, seed + 1);
    ctx.FlushIfNeeded(src.memory, src.memory_type);
    UnmapBuffer(ctx, src);
    Buffer readback = CreateBuffer(ctx, tight, VK_BUFFER_USAGE_TRANSFER_DST_BIT, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT,
                                   VK_MEMORY_PROPERTY_HOST_COHERENT_BIT | VK_MEMORY_PROPERTY_HOST_CACHED_BIT);

    VkBufferImageCopy region{};
    region.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1};
    region.imageExtent = {s.width, s.height, 1};
    ctx.SubmitOneShot([&](VkCommandBuffer cmd) {
      CmdImageBarrier(cmd, a.image, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_PREINITIALIZED,
                      VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_WRITE_BIT,
                      VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_READ_BIT);
      CmdImageBarrier(cmd, b.image, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_UNDEFINED,
                      VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, 0,
                      VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT);
      vkCmdCopyImageToBuffer(cmd, a.image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, readback.buffer, 1, &region);
      vkCmdCopyBufferToImage(cmd, src.buffer, b.image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &region);
      // GENERAL so the host may read the linear image (host access needs PREINITIALIZED or GENERAL).
      CmdImageBarrier(cmd, b.image, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                      VK_IMAGE_LAYOUT_GENERAL, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                      VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
      CmdMemoryBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_HOST_BIT,
                       VK_ACCESS_HOST_READ_BIT);
    });

    const std::string what = std::string("linear image ") + s.name + " " + std::to_string(s.width) + "x" +
                             std::to_string(s.height);
    const uint8_t* rp = static_cast<const uint8_t*>(MapBuffer(ctx, readback));
    ctx.InvalidateIfNeeded(readback.memory, readback.memory_type);
    VerifyPattern(rp, tight, seed, what + " (host-written, GPU-read)");
    sum.Update(rp, tight);
    UnmapBuffer(ctx, readback);

    APP_CHECK(vkMapMemory(ctx.device, b.memory, 0, VK_WHOLE_SIZE, 0, &p));
    ctx.InvalidateIfNeeded(b.memory, b.memory_type);
    for (uint32_t y = 0; y < s.height; ++y) {
      const uint8_t* row = static_cast<const uint8_t*>(p) + lb.offset + y * lb.rowPitch;
      VerifyPattern(row, row_bytes, seed + 1, what + " (GPU-written, host-read) row " + std::to_string(y),
                    y * row_bytes);
      sum.Update(row, row_bytes);
    }
    vkUnmapMemory(ctx.device, b.memory);

    DestroyBuffer(ctx, readback);
    DestroyBuffer(ctx, src);
    DestroyImage(ctx, b);
    DestroyImage(ctx, a);
    index += 2;
  }
  return sum.value();
}

void Body(const Options& options) {
  if (!options.args.empty()) Fail(kExitUsage, "unexpected argument " + options.args[0]);
  ContextOptions co;
  co.app_name = "app_images";
  Context ctx(co);
  const double t0 = NowMs();
  const uint64_t optimal = RunOptimal(ctx);
  const uint64_t linear = RunLinear(ctx);
  Info("%llu vkAllocateMemory calls, %llu bytes, %.1f ms", static_cast<unsigned long long>(ctx.allocate_calls),
       static_cast<unsigned long long>(ctx.allocate_bytes), NowMs() - t0);
  PrintChecksum("images", optimal);
  PrintChecksum("linear", linear);
}

}  // namespace

int main(int argc, char** argv) { return RunApp(argc, argv, kUsage, Body); }
