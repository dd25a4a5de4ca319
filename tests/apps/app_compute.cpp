// app_compute — a plain Vulkan GPGPU program: a compute shader (shaders/transform.comp,
// compiled to SPIR-V at build time) reads an input SSBO and writes out[i] = f(in[i], i) into
// another SSBO; every element is verified against the CPU reference.
//   Pass 1: upload buffer -> device-local input SSBO (vkCmdCopyBuffer), dispatch into a
//           device-local output SSBO, copy to a read-back buffer. Each buffer has its own memory.
//   Pass 2: host-visible SSBOs used directly through persistent/partial mappings, made
//           available/visible with vkFlushMappedMemoryRanges / vkInvalidateMappedMemoryRanges
//           using VK_WHOLE_SIZE, explicit atom-aligned ranges, ranges ending at the end of the
//           allocation, and a mapping at a non-zero offset (all legal on coherent memory too).
//
// Usage: app_compute [--quiet] [COUNT]     (COUNT elements in pass 1, default 100003)
//
// Output (deterministic lines for comparison):
//   checksum compute <hex>          FNV-1a 64 of the pass-1 output
//   checksum compute_mapped <hex>   FNV-1a 64 of the three pass-2 outputs
//   RESULT OK | RESULT FAIL <reason>
// Exit codes: 0 ok, 1 data mismatch, 2 Vulkan error, 3 validation messages, 4 usage,
//             5 unsupported device, 6 exception (see app_common.h).
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "app_common.h"

using namespace vkapp;

namespace {

const char* kUsage = "usage: app_compute [--quiet] [COUNT]   (default COUNT=100003)";

uint32_t InputValue(uint64_t seed, uint32_t i) { return static_cast<uint32_t>(SplitMix64(seed ^ (uint64_t(i) << 20))); }

void VerifyOutput(const uint32_t* out, uint32_t count, uint64_t seed, uint32_t add, uint32_t first,
                  const std::string& what) {
  for (uint32_t i = first; i < count; ++i) {
    const uint32_t expected = TransformValue(InputValue(seed, i), add, i);
    if (out[i - first] != expected) {
      char buf[160];
      std::snprintf(buf, sizeof(buf), ": element %u of %u is 0x%08x, expected 0x%08x", i, count, out[i - first],
                    expected);
      Mismatch(what + buf);
    }
  }
}

VkMappedMemoryRange Range(VkDeviceMemory memory, VkDeviceSize offset, VkDeviceSize size) {
  VkMappedMemoryRange r{};
  r.sType = VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE;
  r.memory = memory;
  r.offset = offset;
  r.size = size;
  return r;
}

uint64_t RunPass1(Context& ctx, TransformPipeline& pipe, uint32_t count) {
  const VkDeviceSize bytes = VkDeviceSize(count) * 4;
  const uint64_t seed = 0xc0ffee01ull;
  const uint32_t add = 1;
  Buffer upload = CreateBuffer(ctx, bytes, VK_BUFFER_USAGE_TRANSFER_SRC_BIT, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT,
                               VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
  Buffer input = CreateBuffer(ctx, bytes, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT, 0,
                              VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
  Buffer output = CreateBuffer(ctx, bytes, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT, 0,
                               VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
  Buffer readback = CreateBuffer(ctx, bytes, VK_BUFFER_USAGE_TRANSFER_DST_BIT, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT,
                                 VK_MEMORY_PROPERTY_HOST_COHERENT_BIT | VK_MEMORY_PROPERTY_HOST_CACHED_BIT);

  uint32_t* in = static_cast<uint32_t*>(MapBuffer(ctx, upload));
  for (uint32_t i = 0; i < count; ++i) in[i] = InputValue(seed, i);
  ctx.FlushIfNeeded(upload.memory, upload.memory_type);
  UnmapBuffer(ctx, upload);

  VkDescriptorSet set = pipe.AllocateSet(input.buffer, 0, VK_WHOLE_SIZE, output.buffer, 0, VK_WHOLE_SIZE);
  ctx.SubmitOneShot([&](VkCommandBuffer cmd) {
    VkBufferCopy c{0, 0, bytes};
    vkCmdCopyBuffer(cmd, upload.buffer, input.buffer, 1, &c);
    CmdMemoryBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                     VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_READ_BIT);
    pipe.CmdDispatch(cmd, set, count, add);
    CmdMemoryBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                     VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_READ_BIT);
    vkCmdCopyBuffer(cmd, output.buffer, readback.buffer, 1, &c);
    CmdMemoryBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_HOST_BIT,
                     VK_ACCESS_HOST_READ_BIT);
  });
  const uint32_t* out = static_cast<const uint32_t*>(MapBuffer(ctx, readback));
  ctx.InvalidateIfNeeded(readback.memory, readback.memory_type);
  VerifyOutput(out, count, seed, add, 0, "pass 1 (device-local SSBOs)");
  Fnv1a64 sum;
  sum.Update(out, bytes);

  DestroyBuffer(ctx, readback);
  DestroyBuffer(ctx, output);
  DestroyBuffer(ctx, input);
  DestroyBuffer(ctx, upload);
  return sum.value();
}

uint64_t RunPass2(Context& ctx, TransformPipeline& pipe) {
  const uint32_t count = 50021;  // odd: the buffer end is not atom-aligned
  const VkDeviceSize bytes = VkDeviceSize(count) * 4;
  const VkDeviceSize atom = ctx.properties.limits.nonCoherentAtomSize;
  Buffer input = CreateBuffer(ctx, bytes, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT,
                              VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
  Buffer output = CreateBuffer(ctx, bytes, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT,
                               VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
  VkDescriptorSet set = pipe.AllocateSet(input.buffer, 0, VK_WHOLE_SIZE, output.buffer, 0, VK_WHOLE_SIZE);
  auto dispatch = [&](uint32_t add) {
    ctx.SubmitOneShot([&](VkCommandBuffer cmd) {
      CmdMemoryBarrier(cmd, VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_WRITE_BIT,
                       VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_READ_BIT);
      pipe.CmdDispatch(cmd, set, count, add);
      CmdMemoryBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                       VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
    });
  };
  Fnv1a64 sum;

  // (a) persistent whole mappings; flush two explicit ranges in one call (the second one
  //     VK_WHOLE_SIZE), invalidate VK_WHOLE_SIZE.
  uint32_t* in = static_cast<uint32_t*>(MapBuffer(ctx, input));
  const uint32_t* out = static_cast<const uint32_t*>(MapBuffer(ctx, output));
  const uint64_t seed_a = 0xa11ull;
  for (uint32_t i = 0; i < count; ++i) in[i] = InputValue(seed_a, i);
  const VkDeviceSize split = AlignUp(bytes / 2, atom);
  VkMappedMemoryRange flush_a[2] = {Range(input.memory, 0, split), Range(input.memory, split, VK_WHOLE_SIZE)};
  APP_CHECK(vkFlushMappedMemoryRanges(ctx.device, 2, flush_a));
  dispatch(2);
  VkMappedMemoryRange inv_a = Range(output.memory, 0, VK_WHOLE_SIZE);
  APP_CHECK(vkInvalidateMappedMemoryRanges(ctx.device, 1, &inv_a));
  VerifyOutput(out, count, seed_a, 2, 0, "pass 2a (whole mappings, VK_WHOLE_SIZE ranges)");
  sum.Update(out, bytes);

  // (b) explicit ranges only: atom-aligned pieces, the last one ending exactly at the end of
  //     the allocation (allowed even when that end is not atom-aligned).
  const uint64_t seed_b = 0xb22ull;
  for (uint32_t i = 0; i < count; ++i) in[i] = InputValue(seed_b, i);
  std::vector<VkMappedMemoryRange> pieces;
  const VkDeviceSize piece = atom * 37;
  for (VkDeviceSize off = 0; off < input.alloc_size; off += piece)
    pieces.push_back(Range(input.memory, off, off + piece <= input.alloc_size ? piece : input.alloc_size - off));
  APP_CHECK(vkFlushMappedMemoryRanges(ctx.device, static_cast<uint32_t>(pieces.size()), pieces.data()));
  dispatch(3);
  VkMappedMemoryRange inv_b[2] = {Range(output.memory, 0, split), Range(output.memory, split, output.alloc_size - split)};
  APP_CHECK(vkInvalidateMappedMemoryRanges(ctx.device, 2, inv_b));
  VerifyOutput(out, count, seed_b, 3, 0, "pass 2b (explicit ranges)");
  sum.Update(out, bytes);

  // (c) the output re-mapped at a non-zero, atom-aligned offset; invalidate an explicit range
  //     and the rest with VK_WHOLE_SIZE (relative to that mapping).
  UnmapBuffer(ctx, output);
  const uint64_t seed_c = 0xc33ull;
  for (uint32_t i = 0; i < count; ++i) in[i] = InputValue(seed_c, i);
  VkMappedMemoryRange flush_c = Range(input.memory, 0, VK_WHOLE_SIZE);
  APP_CHECK(vkFlushMappedMemoryRanges(ctx.device, 1, &flush_c));
  dispatch(4);
  const VkDeviceSize map_off = atom * 5;  // 320 bytes on lavapipe: element 80
  void* p = nullptr;
  APP_CHECK(vkMapMemory(ctx.device, output.memory, map_off, VK_WHOLE_SIZE, 0, &p));
  if ((reinterpret_cast<uintptr_t>(p) - map_off) % ctx.properties.limits.minMemoryMapAlignment != 0)
    Mismatch("vkMapMemory at an offset: pointer minus offset not aligned to minMemoryMapAlignment");
  VkMappedMemoryRange inv_c[2] = {Range(output.memory, map_off, atom * 11),
                                  Range(output.memory, map_off + atom * 11, VK_WHOLE_SIZE)};
  APP_CHECK(vkInvalidateMappedMemoryRanges(ctx.device, 2, inv_c));
  const uint32_t first = static_cast<uint32_t>(map_off / 4);
  VerifyOutput(static_cast<const uint32_t*>(p), count, seed_c, 4, first, "pass 2c (mapping at an offset)");
  vkUnmapMemory(ctx.device, output.memory);
  out = static_cast<const uint32_t*>(MapBuffer(ctx, output));
  ctx.InvalidateIfNeeded(output.memory, output.memory_type);
  VerifyOutput(out, count, seed_c, 4, 0, "pass 2c (whole re-mapping)");
  sum.Update(out, bytes);

  DestroyBuffer(ctx, output);  // freed while mapped
  UnmapBuffer(ctx, input);
  DestroyBuffer(ctx, input);
  return sum.value();
}

void Body(const Options& options) {
  uint32_t count = 100003;
  if (options.args.size() > 1) Fail(kExitUsage, "too many arguments");
  if (!options.args.empty()) count = static_cast<uint32_t>(ParseUnsigned(options.args[0], "COUNT"));
  if (count == 0 || count > (1u << 25)) Fail(kExitUsage, "COUNT must be in 1..33554432");

  ContextOptions co;
  co.app_name = "app_compute";
  Context ctx(co);
  const double t0 = NowMs();
  TransformPipeline pipe(ctx, 4);
  const uint64_t s1 = RunPass1(ctx, pipe, count);
  const uint64_t s2 = RunPass2(ctx, pipe);
  Info("%u + 3x50021 elements verified, %llu vkAllocateMemory calls, %.1f ms", count,
       static_cast<unsigned long long>(ctx.allocate_calls), NowMs() - t0);
  PrintChecksum("compute", s1);
  PrintChecksum("compute_mapped", s2);
}

}  // namespace

int main(int argc, char** argv) { return RunApp(argc, argv, kUsage, Body); }
