// vma_demo — the product demo: a headless "game" that loads levels the way an unoptimised engine
// does, with one vkAllocateMemory per resource: vertex and index buffers, uniform buffers
// (persistently mapped), mip-mapped textures of several sizes uploaded through per-resource
// staging buffers (one submit each), render targets (colour + depth), skinning output buffers,
// and a per-frame read-back buffer. Nothing is shown on screen; each "frame" updates the uniform
// buffers, runs a compute skinning pass (shaders/transform.comp), clears the render targets,
// copies textures into the colour target and reads it all back, verifying every byte against a
// CPU model. Then half of level 1 is unloaded, level 2 is loaded, more frames run, all resident
// resources are read back and verified, the device is waited idle (as engines do before they
// unload a level; with the layer's dump_on=idle that is where a state map shows the level loaded),
// and everything is torn down.
//
// Run it with and without VK_LAYER_VMA_suballocator (scripts/run.sh) and compare the report.
//
// Usage: vma_demo [--quiet] [--frames F]     (default F=4 frames per level)
//
// Output (deterministic lines for comparison):
//   report allocate_calls <n>     vkAllocateMemory calls made by the demo
//   report allocate_bytes <n>     bytes requested by those calls (from the memory requirements)
//   report resources <n>          buffers + images created (staging and per-frame ones included)
//   checksum demo <hex>           FNV-1a 64 of everything read back
//   RESULT OK | RESULT FAIL <reason>
// Informational (not for comparison, hidden by --quiet): "info ..." lines, including
//   info time_ms load1=<ms> frames1=<ms> unload=<ms> load2=<ms> frames2=<ms> teardown=<ms> total=<ms>
// Exit codes: 0 ok, 1 data mismatch, 2 Vulkan error, 3 validation messages, 4 usage,
//             5 unsupported device, 6 exception (see app_common.h).
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "app_common.h"

using namespace vkapp;

namespace {

const char* kUsage = "usage: vma_demo [--quiet] [--frames F]   (default F=4)";

constexpr VkFormat kColorFormat = VK_FORMAT_R8G8B8A8_UNORM;
constexpr uint32_t kRtWidth = 320, kRtHeight = 180, kCell = 64;

struct Mesh {
  Buffer vertex, index, skinned;
  VkDeviceSize vertex_bytes = 0, index_bytes = 0;
  uint64_t seed = 0;
  bool animated = false;
  VkDescriptorSet set = VK_NULL_HANDLE;
};

struct Texture {
  Image image;
  uint64_t seed = 0;
  std::vector<VkDeviceSize> mip_offsets;  // tight layout of the upload, for read-back
  VkDeviceSize upload_bytes = 0;
};

struct Ubo {
  Buffer buffer;  // persistently mapped
  uint64_t seed = 0;
};

struct World {
  std::vector<Mesh> meshes;
  std::vector<Texture> textures;
  std::vector<Ubo> ubos;
  Image color, color2, depth;
  bool has_depth = false;
};

class Demo {
 public:
  Demo(Context& ctx, TransformPipeline& pipe) : ctx_(ctx), pipe_(pipe) {}

  void CreateRenderTargets();
  void LoadLevel(uint32_t level, uint32_t meshes, uint32_t textures, uint32_t ubos);
  void UnloadHalf();
  void RunFrame(uint32_t frame_number);
  void VerifyResident();
  void Teardown();

  uint64_t checksum() const { return sum_.value(); }
  uint64_t resources() const { return resources_; }

 private:
  Buffer NewBuffer(VkDeviceSize size, VkBufferUsageFlags usage, VkMemoryPropertyFlags required,
                   VkMemoryPropertyFlags preferred) {
    ++resources_;
    return CreateBuffer(ctx_, size, usage, required, preferred);
  }
  Image NewImage(const ImageDesc& d, VkMemoryPropertyFlags preferred) {
    ++resources_;
    return CreateImage(ctx_, d, 0, preferred);
  }
  void LoadMesh(uint32_t level, uint32_t i, Rng& rng);
  void LoadTexture(uint32_t level, uint32_t i, Rng& rng);

  Context& ctx_;
  TransformPipeline& pipe_;
  World world_;
  Fnv1a64 sum_;
  uint64_t resources_ = 0;
};

void Demo::CreateRenderTargets() {
  ImageDesc d;
  d.format = kColorFormat;
  d.width = kRtWidth;
  d.height = kRtHeight;
  d.usage = VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT;
  world_.color = NewImage(d, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
  d.width = kRtWidth / 2;
  d.height = kRtHeight / 2;
  world_.color2 = NewImage(d, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
  if (FormatSupports(ctx_, VK_FORMAT_D32_SFLOAT, VK_IMAGE_TILING_OPTIMAL,
                     VK_FORMAT_FEATURE_DEPTH_STENCIL_ATTACHMENT_BIT | VK_FORMAT_FEATURE_TRANSFER_DST_BIT)) {
    d.format = VK_FORMAT_D32_SFLOAT;
    d.width = kRtWidth;
    d.height = kRtHeight;
    d.usage = VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT;
    world_.depth = NewImage(d, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
    world_.has_depth = true;
  }
}

void Demo::LoadMesh(uint32_t level, uint32_t i, Rng& rng) {
  Mesh m;
  m.seed = (uint64_t(level) << 40) ^ (0x3e5ull << 20) ^ i;
  const VkDeviceSize vertices = rng.Range(24, 6000);
  const VkDeviceSize indices = rng.Range(36, 9001);
  m.vertex_bytes = vertices * 32;               // position, normal, uv: 8 floats
  m.index_bytes = indices * (i % 3 == 0 ? 4 : 2);  // 16- or 32-bit indices, odd counts
  m.animated = (i % 10 == 3);
  m.vertex = NewBuffer(m.vertex_bytes,
                       VK_BUFFER_USAGE_VERTEX_BUFFER_BIT | VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
                           VK_BUFFER_USAGE_TRANSFER_DST_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
                       0, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
  m.index = NewBuffer(m.index_bytes,
                      VK_BUFFER_USAGE_INDEX_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT |
                          VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
                      0, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
  const VkDeviceSize index_offset = AlignUp(m.vertex_bytes, 16);
  Buffer staging = NewBuffer(index_offset + m.index_bytes, VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
                             VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT, VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
  uint8_t* p = static_cast<uint8_t*>(MapBuffer(ctx_, staging));
  FillPattern(p, static_cast<size_t>(m.vertex_bytes), m.seed);
  FillPattern(p + index_offset, static_cast<size_t>(m.index_bytes), m.seed + 1);
  ctx_.FlushIfNeeded(staging.memory, staging.memory_type);
  UnmapBuffer(ctx_, staging);
  ctx_.SubmitOneShot([&](VkCommandBuffer cmd) {
    VkBufferCopy v{0, 0, m.vertex_bytes};
    VkBufferCopy x{index_offset, 0, m.index_bytes};
    vkCmdCopyBuffer(cmd, staging.buffer, m.vertex.buffer, 1, &v);
    vkCmdCopyBuffer(cmd, staging.buffer, m.index.buffer, 1, &x);
  });
  DestroyBuffer(ctx_, staging);
  if (m.animated) {
    m.skinned = NewBuffer(m.vertex_bytes, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT, 0,
                          VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
    m.set = pipe_.AllocateSet(m.vertex.buffer, 0, VK_WHOLE_SIZE, m.skinned.buffer, 0, VK_WHOLE_SIZE);
  }
  world_.meshes.push_back(std::move(m));
}

void Demo::LoadTexture(uint32_t level, uint32_t i, Rng& rng) {
  static const uint32_t kSizes[] = {16, 32, 64, 128, 256, 512};
  Texture t;
  t.seed = (uint64_t(level) << 40) ^ (0x7e4ull << 20) ^ i;
  ImageDesc d;
  d.format = kColorFormat;
  d.width = kSizes[rng.Range(0, 5)];
  d.height = (i % 4 == 1) ? std::max(1u, d.width / 2) : d.width;
  d.mip_levels = 1;
  while ((std::max(d.width, d.height) >> d.mip_levels) > 0) ++d.mip_levels;
  d.usage = VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT;
  t.image = NewImage(d, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);

  std::vector<VkBufferImageCopy> regions;
  VkDeviceSize off = 0;
  for (uint32_t mip = 0; mip < d.mip_levels; ++mip) {
    const uint32_t w = std::max(1u, d.width >> mip), h = std::max(1u, d.height >> mip);
    VkBufferImageCopy c{};
    c.bufferOffset = off;
    c.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, mip, 0, 1};
    c.imageExtent = {w, h, 1};
    regions.push_back(c);
    t.mip_offsets.push_back(off);
    off = AlignUp(off + VkDeviceSize(w) * h * 4, 16);
  }
  t.upload_bytes = off;
  Buffer staging = NewBuffer(off, VK_BUFFER_USAGE_TRANSFER_SRC_BIT, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT,
                             VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
  uint8_t* p = static_cast<uint8_t*>(MapBuffer(ctx_, staging));
  std::memset(p, 0, static_cast<size_t>(off));
  for (uint32_t mip = 0; mip < d.mip_levels; ++mip) {
    const VkExtent3D e = regions[mip].imageExtent;
    FillPattern(p + t.mip_offsets[mip], size_t(e.width) * e.height * 4, t.seed, t.mip_offsets[mip]);
  }
  ctx_.FlushIfNeeded(staging.memory, staging.memory_type);
  UnmapBuffer(ctx_, staging);
  ctx_.SubmitOneShot([&](VkCommandBuffer cmd) {
    CmdImageBarrier(cmd, t.image.image, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_UNDEFINED,
                    VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, 0,
                    VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT);
    vkCmdCopyBufferToImage(cmd, staging.buffer, t.image.image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                           static_cast<uint32_t>(regions.size()), regions.data());
    CmdImageBarrier(cmd, t.image.image, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                    VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL, VK_PIPELINE_STAGE_TRANSFER_BIT,
                    VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_READ_BIT);
  });
  DestroyBuffer(ctx_, staging);
  world_.textures.push_back(std::move(t));
}

void Demo::LoadLevel(uint32_t level, uint32_t meshes, uint32_t textures, uint32_t ubos) {
  Rng rng(0x1e7e1ull * level);
  // Interleaved like an asset loader walking a scene: a mesh, a texture, a uniform buffer, ...
  const uint32_t steps = std::max({meshes, textures, ubos});
  for (uint32_t i = 0; i < steps; ++i) {
    if (i < meshes) LoadMesh(level, i, rng);
    if (i < textures) LoadTexture(level, i, rng);
    if (i < ubos) {
      Ubo u;
      u.seed = (uint64_t(level) << 40) ^ (0x0b0ull << 20) ^ i;
      u.buffer = NewBuffer(rng.Range(64, 4096) + 3, VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
                           VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT, VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
      MapBuffer(ctx_, u.buffer);
      world_.ubos.push_back(std::move(u));
    }
  }
  Info("level %u loaded: %zu meshes, %zu textures, %zu uniform buffers resident", level, world_.meshes.size(),
       world_.textures.size(), world_.ubos.size());
}

void Demo::UnloadHalf() {
  std::vector<Mesh> meshes;
  for (size_t i = 0; i < world_.meshes.size(); ++i) {
    Mesh& m = world_.meshes[i];
    if (i % 2 == 1) {
      DestroyBuffer(ctx_, m.vertex);
      DestroyBuffer(ctx_, m.index);
      DestroyBuffer(ctx_, m.skinned);
      // The descriptor set stays in the pool unused (the pool is reset at teardown).
    } else {
      meshes.push_back(std::move(m));
    }
  }
  world_.meshes.swap(meshes);
  std::vector<Texture> textures;
  for (size_t i = 0; i < world_.textures.size(); ++i) {
    if (i % 2 == 0)
      DestroyImage(ctx_, world_.textures[i].image);
    else
      textures.push_back(std::move(world_.textures[i]));
  }
  world_.textures.swap(textures);
  std::vector<Ubo> ubos;
  for (size_t i = 0; i < world_.ubos.size(); ++i) {
    if (i % 2 == 1)
      DestroyBuffer(ctx_, world_.ubos[i].buffer);  // freed while mapped
    else
      ubos.push_back(std::move(world_.ubos[i]));
  }
  world_.ubos.swap(ubos);
  Info("half unloaded: %zu meshes, %zu textures, %zu uniform buffers resident", world_.meshes.size(),
       world_.textures.size(), world_.ubos.size());
}

void Demo::RunFrame(uint32_t frame) {
  // 1. CPU: update the uniform buffers through their persistent mappings.
  for (size_t i = 0; i < world_.ubos.size(); ++i) {
    Ubo& u = world_.ubos[i];
    FillPattern(u.buffer.mapped, static_cast<size_t>(u.buffer.size), u.seed ^ (uint64_t(frame) << 32));
    ctx_.FlushIfNeeded(u.buffer.memory, u.buffer.memory_type);
  }

  // Read-back layout: [colour target][uniform buffers][skinned vertices], one allocation per frame.
  const VkDeviceSize color_bytes = VkDeviceSize(kRtWidth) * kRtHeight * 4;
  VkDeviceSize off = color_bytes;
  std::vector<VkDeviceSize> ubo_off, skin_off;
  for (const Ubo& u : world_.ubos) {
    ubo_off.push_back(off);
    off = AlignUp(off + u.buffer.size, 16);
  }
  for (const Mesh& m : world_.meshes) {
    skin_off.push_back(off);
    if (m.animated) off = AlignUp(off + m.vertex_bytes, 16);
  }
  Buffer readback = NewBuffer(off, VK_BUFFER_USAGE_TRANSFER_DST_BIT, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT,
                              VK_MEMORY_PROPERTY_HOST_COHERENT_BIT | VK_MEMORY_PROPERTY_HOST_CACHED_BIT);

  // Textures copied into the colour target this frame: a grid of 64x64 cells.
  struct Blit {
    size_t texture;
    uint32_t x, y, w, h;
  };
  std::vector<Blit> blits;
  const uint32_t cols = kRtWidth / kCell, rows = kRtHeight / kCell;
  for (uint32_t c = 0; c < cols * rows && !world_.textures.empty(); ++c) {
    const size_t t = (frame * 7 + c * 3) % world_.textures.size();
    const Image& img = world_.textures[t].image;
    blits.push_back({t, (c % cols) * kCell, (c / cols) * kCell, std::min(img.width, kCell), std::min(img.height, kCell)});
  }
  const float clear[4] = {float(frame % 7) / 255.0f * 30.0f, 100.0f / 255.0f, float(200 - frame % 100) / 255.0f, 1.0f};
  const uint8_t clear_bytes[4] = {static_cast<uint8_t>((frame % 7) * 30), 100, static_cast<uint8_t>(200 - frame % 100),
                                  255};

  ctx_.SubmitOneShot([&](VkCommandBuffer cmd) {
    // Host writes (uniform buffers) and earlier uploads become visible to this frame's work.
    CmdMemoryBarrier(cmd, VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                     VK_ACCESS_HOST_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
                     VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                     VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_SHADER_READ_BIT);
    // Skinning.
    for (size_t i = 0; i < world_.meshes.size(); ++i) {
      const Mesh& m = world_.meshes[i];
      if (m.animated) pipe_.CmdDispatch(cmd, m.set, static_cast<uint32_t>(m.vertex_bytes / 4), frame * 1000 + uint32_t(i));
    }
    // Render targets: clear.
    const VkImageSubresourceRange color_range{VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
    CmdImageBarrier(cmd, world_.color.image, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_UNDEFINED,
                    VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, VK_PIPELINE_STAGE_TRANSFER_BIT, 0,
                    VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT);
    CmdImageBarrier(cmd, world_.color2.image, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_UNDEFINED,
                    VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, VK_PIPELINE_STAGE_TRANSFER_BIT, 0,
                    VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT);
    VkClearColorValue cc{};
    std::memcpy(cc.float32, clear, sizeof(clear));
    vkCmdClearColorImage(cmd, world_.color.image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, &cc, 1, &color_range);
    vkCmdClearColorImage(cmd, world_.color2.image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, &cc, 1, &color_range);
    if (world_.has_depth) {
      CmdImageBarrier(cmd, world_.depth.image, VK_IMAGE_ASPECT_DEPTH_BIT, VK_IMAGE_LAYOUT_UNDEFINED,
                      VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, VK_PIPELINE_STAGE_TRANSFER_BIT, 0,
                      VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT);
      VkClearDepthStencilValue dv{1.0f - 0.01f * float(frame), 0};
      const VkImageSubresourceRange depth_range{VK_IMAGE_ASPECT_DEPTH_BIT, 0, 1, 0, 1};
      vkCmdClearDepthStencilImage(cmd, world_.depth.image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, &dv, 1, &depth_range);
    }
    // Textures -> colour target.
    for (const Texture& t : world_.textures)
      CmdImageBarrier(cmd, t.image.image, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL,
                      VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0,
                      VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_READ_BIT);
    CmdMemoryBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                     VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT);
    for (const Blit& b : blits) {
      VkImageCopy region{};
      region.srcSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1};
      region.dstSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1};
      region.dstOffset = {int32_t(b.x), int32_t(b.y), 0};
      region.extent = {b.w, b.h, 1};
      vkCmdCopyImage(cmd, world_.textures[b.texture].image.image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
                     world_.color.image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &region);
    }
    for (const Texture& t : world_.textures)
      CmdImageBarrier(cmd, t.image.image, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
                      VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL, VK_PIPELINE_STAGE_TRANSFER_BIT, 0,
                      VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_READ_BIT);
    CmdImageBarrier(cmd, world_.color.image, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                    VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                    VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_READ_BIT);
    CmdMemoryBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                     VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_READ_BIT);
    // Read back.
    VkBufferImageCopy rc{};
    rc.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1};
    rc.imageExtent = {kRtWidth, kRtHeight, 1};
    vkCmdCopyImageToBuffer(cmd, world_.color.image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, readback.buffer, 1, &rc);
    for (size_t i = 0; i < world_.ubos.size(); ++i) {
      VkBufferCopy c{0, ubo_off[i], world_.ubos[i].buffer.size};
      vkCmdCopyBuffer(cmd, world_.ubos[i].buffer.buffer, readback.buffer, 1, &c);
    }
    for (size_t i = 0; i < world_.meshes.size(); ++i) {
      const Mesh& m = world_.meshes[i];
      if (!m.animated) continue;
      VkBufferCopy c{0, skin_off[i], m.vertex_bytes};
      vkCmdCopyBuffer(cmd, m.skinned.buffer, readback.buffer, 1, &c);
    }
    CmdMemoryBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_HOST_BIT,
                     VK_ACCESS_HOST_READ_BIT);
  });

  // Verify against the CPU model.
  const uint8_t* rb = static_cast<const uint8_t*>(MapBuffer(ctx_, readback));
  ctx_.InvalidateIfNeeded(readback.memory, readback.memory_type);
  std::vector<uint8_t> expected(static_cast<size_t>(color_bytes));
  for (size_t px = 0; px < kRtWidth * kRtHeight; ++px) std::memcpy(&expected[px * 4], clear_bytes, 4);
  for (const Blit& b : blits) {
    const Texture& t = world_.textures[b.texture];
    for (uint32_t y = 0; y < b.h; ++y)
      FillPattern(&expected[(size_t(b.y + y) * kRtWidth + b.x) * 4], size_t(b.w) * 4, t.seed,
                  uint64_t(y) * t.image.width * 4);
  }
  VerifyEqual(rb, expected.data(), expected.size(), "frame " + std::to_string(frame) + " colour target");
  for (size_t i = 0; i < world_.ubos.size(); ++i)
    VerifyPattern(rb + ubo_off[i], static_cast<size_t>(world_.ubos[i].buffer.size),
                  world_.ubos[i].seed ^ (uint64_t(frame) << 32),
                  "frame " + std::to_string(frame) + " uniform buffer " + std::to_string(i));
  for (size_t i = 0; i < world_.meshes.size(); ++i) {
    const Mesh& m = world_.meshes[i];
    if (!m.animated) continue;
    const size_t n = static_cast<size_t>(m.vertex_bytes / 4);
    std::vector<uint32_t> in(n), out(n);
    FillPattern(in.data(), n * 4, m.seed);
    std::memcpy(out.data(), rb + skin_off[i], n * 4);
    for (size_t k = 0; k < n; ++k)
      if (out[k] != TransformValue(in[k], frame * 1000 + uint32_t(i), uint32_t(k)))
        Mismatch("frame " + std::to_string(frame) + " skinned mesh " + std::to_string(i) + " element " +
                 std::to_string(k));
  }
  // Checksum only what was written (alignment gaps in the read-back buffer are undefined).
  sum_.Update(rb, static_cast<size_t>(color_bytes));
  for (size_t i = 0; i < world_.ubos.size(); ++i)
    sum_.Update(rb + ubo_off[i], static_cast<size_t>(world_.ubos[i].buffer.size));
  for (size_t i = 0; i < world_.meshes.size(); ++i)
    if (world_.meshes[i].animated) sum_.Update(rb + skin_off[i], static_cast<size_t>(world_.meshes[i].vertex_bytes));
  DestroyBuffer(ctx_, readback);  // per-frame allocation, freed while mapped
}

// Reads every resident mesh and texture back and checks that nothing changed since upload
// (neighbours were freed and new resources were loaded in between).
void Demo::VerifyResident() {
  VkDeviceSize off = 0;
  std::vector<VkDeviceSize> mesh_off, tex_off;
  for (const Mesh& m : world_.meshes) {
    mesh_off.push_back(off);
    off = AlignUp(off + m.vertex_bytes, 16);
    off = AlignUp(off + m.index_bytes, 16);
  }
  for (const Texture& t : world_.textures) {
    tex_off.push_back(off);
    off = AlignUp(off + t.upload_bytes, 16);
  }
  Buffer readback = NewBuffer(off, VK_BUFFER_USAGE_TRANSFER_DST_BIT, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT,
                              VK_MEMORY_PROPERTY_HOST_COHERENT_BIT | VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
  ctx_.SubmitOneShot([&](VkCommandBuffer cmd) {
    for (size_t i = 0; i < world_.meshes.size(); ++i) {
      const Mesh& m = world_.meshes[i];
      VkBufferCopy v{0, mesh_off[i], m.vertex_bytes};
      VkBufferCopy x{0, AlignUp(mesh_off[i] + m.vertex_bytes, 16), m.index_bytes};
      vkCmdCopyBuffer(cmd, m.vertex.buffer, readback.buffer, 1, &v);
      vkCmdCopyBuffer(cmd, m.index.buffer, readback.buffer, 1, &x);
    }
    for (size_t i = 0; i < world_.textures.size(); ++i) {
      const Texture& t = world_.textures[i];
      CmdImageBarrier(cmd, t.image.image, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL,
                      VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0,
                      VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_READ_BIT);
      std::vector<VkBufferImageCopy> regions;
      for (uint32_t mip = 0; mip < t.image.mip_levels; ++mip) {
        VkBufferImageCopy c{};
        c.bufferOffset = tex_off[i] + t.mip_offsets[mip];
        c.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, mip, 0, 1};
        c.imageExtent = {std::max(1u, t.image.width >> mip), std::max(1u, t.image.height >> mip), 1};
        regions.push_back(c);
      }
      vkCmdCopyImageToBuffer(cmd, t.image.image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, readback.buffer,
                             static_cast<uint32_t>(regions.size()), regions.data());
      CmdImageBarrier(cmd, t.image.image, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
                      VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL, VK_PIPELINE_STAGE_TRANSFER_BIT, 0,
                      VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_READ_BIT);
    }
    CmdMemoryBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_HOST_BIT,
                     VK_ACCESS_HOST_READ_BIT);
  });
  const uint8_t* rb = static_cast<const uint8_t*>(MapBuffer(ctx_, readback));
  ctx_.InvalidateIfNeeded(readback.memory, readback.memory_type);
  for (size_t i = 0; i < world_.meshes.size(); ++i) {
    const Mesh& m = world_.meshes[i];
    const uint8_t* v = rb + mesh_off[i];
    const uint8_t* x = rb + AlignUp(mesh_off[i] + m.vertex_bytes, 16);
    VerifyPattern(v, static_cast<size_t>(m.vertex_bytes), m.seed, "resident mesh " + std::to_string(i) + " vertices");
    VerifyPattern(x, static_cast<size_t>(m.index_bytes), m.seed + 1, "resident mesh " + std::to_string(i) + " indices");
    sum_.Update(v, static_cast<size_t>(m.vertex_bytes));
    sum_.Update(x, static_cast<size_t>(m.index_bytes));
  }
  for (size_t i = 0; i < world_.textures.size(); ++i) {
    const Texture& t = world_.textures[i];
    for (uint32_t mip = 0; mip < t.image.mip_levels; ++mip) {
      const size_t bytes = size_t(std::max(1u, t.image.width >> mip)) * std::max(1u, t.image.height >> mip) * 4;
      VerifyPattern(rb + tex_off[i] + t.mip_offsets[mip], bytes, t.seed,
                    "resident texture " + std::to_string(i) + " mip " + std::to_string(mip), t.mip_offsets[mip]);
      sum_.Update(rb + tex_off[i] + t.mip_offsets[mip], bytes);
    }
  }
  DestroyBuffer(ctx_, readback);
}

void Demo::Teardown() {
  for (Mesh& m : world_.meshes) {
    DestroyBuffer(ctx_, m.skinned);
    DestroyBuffer(ctx_, m.index);
    DestroyBuffer(ctx_, m.vertex);
  }
  for (Texture& t : world_.textures) DestroyImage(ctx_, t.image);
  for (Ubo& u : world_.ubos) {
    UnmapBuffer(ctx_, u.buffer);
    DestroyBuffer(ctx_, u.buffer);
  }
  DestroyImage(ctx_, world_.depth);
  DestroyImage(ctx_, world_.color2);
  DestroyImage(ctx_, world_.color);
  world_ = World{};
}

void Body(const Options& options) {
  uint64_t frames = 4;
  for (size_t i = 0; i < options.args.size(); ++i) {
    if (options.args[i] == "--frames" && i + 1 < options.args.size())
      frames = ParseUnsigned(options.args[++i], "--frames");
    else
      Fail(kExitUsage, "unexpected argument " + options.args[i]);
  }
  if (frames < 1 || frames > 10000) Fail(kExitUsage, "F must be in 1..10000");

  ContextOptions co;
  co.app_name = "vma_demo";
  Context ctx(co);
  const double t0 = NowMs();
  uint64_t resources = 0, checksum = 0;
  double t_load1, t_frames1, t_unload, t_load2, t_frames2, t_teardown;
  {
    TransformPipeline pipe(ctx, 64);
    Demo demo(ctx, pipe);
    double t = NowMs();
    demo.CreateRenderTargets();
    demo.LoadLevel(1, 80, 40, 24);
    t_load1 = NowMs() - t;
    t = NowMs();
    uint32_t frame = 0;
    for (uint64_t f = 0; f < frames; ++f) demo.RunFrame(frame++);
    t_frames1 = NowMs() - t;
    t = NowMs();
    demo.UnloadHalf();
    t_unload = NowMs() - t;
    t = NowMs();
    demo.LoadLevel(2, 70, 36, 20);
    t_load2 = NowMs() - t;
    t = NowMs();
    for (uint64_t f = 0; f < frames; ++f) demo.RunFrame(frame++);
    demo.VerifyResident();
    t_frames2 = NowMs() - t;
    t = NowMs();
    APP_CHECK(vkDeviceWaitIdle(ctx.device));
    demo.Teardown();
    t_teardown = NowMs() - t;
    resources = demo.resources();
    checksum = demo.checksum();
  }
  Info("time_ms load1=%.1f frames1=%.1f unload=%.1f load2=%.1f frames2=%.1f teardown=%.1f total=%.1f", t_load1,
       t_frames1, t_unload, t_load2, t_frames2, t_teardown, NowMs() - t0);
  std::printf("report allocate_calls %" PRIu64 "\n", ctx.allocate_calls);
  std::printf("report allocate_bytes %" PRIu64 "\n", ctx.allocate_bytes);
  std::printf("report resources %" PRIu64 "\n", resources);
  PrintChecksum("demo", checksum);
}

}  // namespace

int main(int argc, char** argv) { return RunApp(argc, argv, kUsage, Body); }
