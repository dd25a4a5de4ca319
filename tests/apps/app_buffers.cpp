// app_buffers — a plain Vulkan program that allocates memory the way most real programs do:
// one vkAllocateMemory per buffer, odd sizes from 1 byte to ~1.2 MiB, host-visible sources that
// are mapped, written, unmapped, re-mapped (also at non-zero offsets) and flushed, then copied
// on the GPU into device-side buffers and read back; plus one app-suballocated allocation holding
// several buffers at aligned offsets (GPU fills one of them, neighbours must stay intact) and
// allocations freed while still mapped.
//
// Usage: app_buffers [--quiet] [COUNT]      (COUNT buffers, default 200)
//
// Output (deterministic lines for comparison):
//   checksum buffers <hex>        FNV-1a 64 of all read-back destination data, in buffer order
//   checksum suballocated <hex>   FNV-1a 64 of the app-suballocated allocation after the GPU fill
//   RESULT OK | RESULT FAIL <reason>
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

const char* kUsage = "usage: app_buffers [--quiet] [COUNT]   (default COUNT=200)";

struct TestBuffer {
  VkDeviceSize size = 0;
  uint64_t seed = 0;
  VkBuffer src = VK_NULL_HANDLE;
  VkDeviceMemory src_memory = VK_NULL_HANDLE;
  uint32_t src_type = 0;
  VkDeviceSize src_alloc_size = 0;
  bool src_mapped = false;  // left mapped on purpose: freed while mapped
  VkBuffer dst = VK_NULL_HANDLE;
  VkDeviceMemory dst_memory = VK_NULL_HANDLE;
  VkDeviceSize readback_offset = 0;
};

void CheckMapAlignment(const Context& ctx, const void* ptr, VkDeviceSize offset, const std::string& what) {
  // memory.adoc (vkMapMemory): ppData minus offset is aligned to minMemoryMapAlignment.
  const uintptr_t base = reinterpret_cast<uintptr_t>(ptr) - static_cast<uintptr_t>(offset);
  if (base % ctx.properties.limits.minMemoryMapAlignment != 0)
    Mismatch(what + ": vkMapMemory pointer minus offset is not aligned to minMemoryMapAlignment");
}

VkBuffer MakeBuffer(Context& ctx, VkDeviceSize size, VkBufferUsageFlags usage) {
  VkBufferCreateInfo bci{};
  bci.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
  bci.size = size;
  bci.usage = usage;
  bci.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  VkBuffer b = VK_NULL_HANDLE;
  APP_CHECK(vkCreateBuffer(ctx.device, &bci, nullptr, &b));
  return b;
}

std::vector<VkDeviceSize> MakeSizes(uint32_t count) {
  // Sizes seen in real programs first, then log-uniform random sizes in [1, 1 MiB].
  std::vector<VkDeviceSize> sizes = {1, 2, 3, 4, 7, 12, 64, 75, 100, 255, 256, 257, 4095, 4096, 4097, 65537,
                                     1048576, 1228815};
  Rng rng(0xb0ffe45ull);
  while (sizes.size() < count) {
    const uint64_t bits = rng.Range(0, 20);
    const uint64_t lo = 1ull << bits;
    sizes.push_back(rng.Range(lo, std::min<uint64_t>(lo * 2 - 1, 1048576)));
  }
  sizes.resize(count);
  return sizes;
}

void Flush(Context& ctx, VkDeviceMemory memory, VkDeviceSize offset, VkDeviceSize size) {
  VkMappedMemoryRange range{};
  range.sType = VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE;
  range.memory = memory;
  range.offset = offset;
  range.size = size;
  APP_CHECK(vkFlushMappedMemoryRanges(ctx.device, 1, &range));
}

// Several buffers placed by the app inside one allocation (like D3D12 placed resources or an
// engine that suballocates itself). The GPU fills one of them; the neighbours and the gaps must
// keep what the host wrote.
uint64_t RunSuballocated(Context& ctx) {
  const VkDeviceSize sizes[] = {75, 4096, 1, 333, 65536, 17, 1000, 12, 257, 8191, 64, 3};
  const VkBufferUsageFlags usages[] = {
      VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
      VK_BUFFER_USAGE_INDEX_BUFFER_BIT, VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT, VK_BUFFER_USAGE_INDIRECT_BUFFER_BIT};
  const size_t n = sizeof(sizes) / sizeof(sizes[0]);
  std::vector<VkBuffer> buffers(n);
  std::vector<VkDeviceSize> offsets(n);
  uint32_t type_bits = ~0u;
  VkDeviceSize total = 0;
  for (size_t i = 0; i < n; ++i) {
    buffers[i] = MakeBuffer(ctx, sizes[i],
                            usages[i % 6] | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT);
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(ctx.device, buffers[i], &req);
    type_bits &= req.memoryTypeBits;
    offsets[i] = AlignUp(total, req.alignment);
    total = offsets[i] + req.size;
    total += 40;  // a gap the app never binds: must keep its contents
  }
  const uint32_t type = ctx.FindMemoryType(type_bits, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT,
                                           VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
  VkDeviceMemory memory = ctx.Allocate(total, type);

  // Half through vkBindBufferMemory, the rest in one vkBindBufferMemory2 call.
  std::vector<VkBindBufferMemoryInfo> infos;
  for (size_t i = 0; i < n; ++i) {
    if (i % 2 == 0) {
      APP_CHECK(vkBindBufferMemory(ctx.device, buffers[i], memory, offsets[i]));
    } else {
      VkBindBufferMemoryInfo info{};
      info.sType = VK_STRUCTURE_TYPE_BIND_BUFFER_MEMORY_INFO;
      info.buffer = buffers[i];
      info.memory = memory;
      info.memoryOffset = offsets[i];
      infos.push_back(info);
    }
  }
  APP_CHECK(vkBindBufferMemory2(ctx.device, static_cast<uint32_t>(infos.size()), infos.data()));

  void* ptr = nullptr;
  APP_CHECK(vkMapMemory(ctx.device, memory, 0, VK_WHOLE_SIZE, 0, &ptr));
  CheckMapAlignment(ctx, ptr, 0, "suballocated");
  const uint64_t seed = 0x5ab5ab5ull;
  FillPattern(ptr, total, seed);
  ctx.FlushIfNeeded(memory, type);

  // GPU: fill buffer 1 (4096 B) and 6 (1000 B) entirely, update 8 bytes inside buffer 9.
  const uint32_t update_data[2] = {0x01234567u, 0x89abcdefu};
  ctx.SubmitOneShot([&](VkCommandBuffer cmd) {
    vkCmdFillBuffer(cmd, buffers[1], 0, VK_WHOLE_SIZE, 0xa5a5a5a5u);
    vkCmdFillBuffer(cmd, buffers[6], 0, 1000, 0x3c3c3c3cu);
    vkCmdUpdateBuffer(cmd, buffers[9], 4, sizeof(update_data), update_data);
    CmdMemoryBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_HOST_BIT,
                     VK_ACCESS_HOST_READ_BIT);
  });
  ctx.InvalidateIfNeeded(memory, type);

  std::vector<uint8_t> expected(total);
  FillPattern(expected.data(), total, seed);
  std::memset(expected.data() + offsets[1], 0xa5, 4096);
  std::memset(expected.data() + offsets[6], 0x3c, 1000);
  std::memcpy(expected.data() + offsets[9] + 4, update_data, sizeof(update_data));
  VerifyEqual(ptr, expected.data(), total, "app-suballocated allocation after GPU fill");

  Fnv1a64 sum;
  sum.Update(ptr, total);
  Info("suballocated: %zu buffers in one allocation of %llu bytes (memory type %u)", n,
       static_cast<unsigned long long>(total), type);

  vkUnmapMemory(ctx.device, memory);
  for (VkBuffer b : buffers) vkDestroyBuffer(ctx.device, b, nullptr);
  ctx.Free(memory);
  return sum.value();
}

// Allocations freed while still mapped (legal: vkFreeMemory unmaps implicitly).
void RunFreeWhileMapped(Context& ctx) {
  const uint32_t type = ctx.FindMemoryType(~0u, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT);
  for (int round = 0; round < 3; ++round) {
    VkDeviceMemory plain = ctx.Allocate(12345 + round, type);
    void* p = nullptr;
    APP_CHECK(vkMapMemory(ctx.device, plain, 0, VK_WHOLE_SIZE, 0, &p));
    CheckMapAlignment(ctx, p, 0, "free-while-mapped");
    FillPattern(p, 12345 + round, 77 + round);
    ctx.FlushIfNeeded(plain, type);
    VerifyPattern(p, 12345 + round, 77 + round, "free-while-mapped allocation");

    // The same with a buffer bound to it, destroyed before the memory is freed.
    VkBuffer b = MakeBuffer(ctx, 4000, VK_BUFFER_USAGE_TRANSFER_SRC_BIT);
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(ctx.device, b, &req);
    const uint32_t btype = ctx.FindMemoryType(req.memoryTypeBits, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT);
    VkDeviceMemory bound = ctx.Allocate(req.size, btype);
    APP_CHECK(vkBindBufferMemory(ctx.device, b, bound, 0));
    void* q = nullptr;
    APP_CHECK(vkMapMemory(ctx.device, bound, 64, VK_WHOLE_SIZE, 0, &q));
    CheckMapAlignment(ctx, q, 64, "free-while-mapped (offset 64)");
    std::memset(q, 0x11, static_cast<size_t>(req.size - 64));

    ctx.Free(plain);  // still mapped
    vkDestroyBuffer(ctx.device, b, nullptr);
    ctx.Free(bound);  // still mapped
  }
}

void Body(const Options& options) {
  uint32_t count = 200;
  if (options.args.size() > 1) Fail(kExitUsage, "too many arguments");
  if (!options.args.empty()) count = static_cast<uint32_t>(ParseUnsigned(options.args[0], "COUNT"));
  if (count == 0 || count > 100000) Fail(kExitUsage, "COUNT must be in 1..100000");

  ContextOptions co;
  co.app_name = "app_buffers";
  Context ctx(co);
  const double t0 = NowMs();
  const VkDeviceSize atom = ctx.properties.limits.nonCoherentAtomSize;

  std::vector<VkDeviceSize> sizes = MakeSizes(count);
  std::vector<TestBuffer> tb(count);
  VkDeviceSize readback_size = 0;
  for (uint32_t i = 0; i < count; ++i) {
    tb[i].size = sizes[i];
    tb[i].seed = 1000 + i;
    tb[i].readback_offset = readback_size;
    readback_size = AlignUp(readback_size + sizes[i], 16);
  }

  // ---- sources: own allocation each, host-visible; map / write / unmap / remap / flush ----
  for (uint32_t i = 0; i < count; ++i) {
    TestBuffer& t = tb[i];
    t.src = MakeBuffer(ctx, t.size, VK_BUFFER_USAGE_TRANSFER_SRC_BIT);
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(ctx.device, t.src, &req);
    t.src_type = ctx.FindMemoryType(req.memoryTypeBits, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT,
                                    VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
    t.src_alloc_size = req.size;
    t.src_memory = ctx.Allocate(req.size, t.src_type);
    if (i % 2 == 0) {
      APP_CHECK(vkBindBufferMemory(ctx.device, t.src, t.src_memory, 0));
    } else {
      VkBindBufferMemoryInfo info{};
      info.sType = VK_STRUCTURE_TYPE_BIND_BUFFER_MEMORY_INFO;
      info.buffer = t.src;
      info.memory = t.src_memory;
      info.memoryOffset = 0;
      APP_CHECK(vkBindBufferMemory2(ctx.device, 1, &info));
    }
    const std::string name = "buffer " + std::to_string(i) + " (" + std::to_string(t.size) + " B)";

    // First mapping: the whole allocation, or the buffer size rounded up to nonCoherentAtomSize
    // (so that the mapping can be flushed with VK_WHOLE_SIZE: VUID-VkMappedMemoryRange-size-01389).
    VkDeviceSize first_map_size = VK_WHOLE_SIZE;
    if (i % 3 == 1 && AlignUp(t.size, atom) < t.src_alloc_size) first_map_size = AlignUp(t.size, atom);
    void* p = nullptr;
    APP_CHECK(vkMapMemory(ctx.device, t.src_memory, 0, first_map_size, 0, &p));
    CheckMapAlignment(ctx, p, 0, name);
    FillPattern(p, static_cast<size_t>(t.size), t.seed);
    // Flush: WHOLE_SIZE, or an explicit atom-aligned range (or up to the end of the allocation).
    if (i % 3 == 0) {
      Flush(ctx, t.src_memory, 0, VK_WHOLE_SIZE);
    } else if (i % 3 == 2) {
      VkDeviceSize s = AlignUp(t.size, atom);
      Flush(ctx, t.src_memory, 0, s <= t.src_alloc_size ? s : t.src_alloc_size);
    } else {
      Flush(ctx, t.src_memory, 0, VK_WHOLE_SIZE);  // to the end of the (atom-aligned) mapping
    }
    vkUnmapMemory(ctx.device, t.src_memory);

    // Second mapping, at various offsets: the data must have persisted.
    VkDeviceSize off = 0, map_size = VK_WHOLE_SIZE;
    switch (i % 4) {
      case 0: break;
      case 1: map_size = t.size; break;
      case 2: off = t.size / 2; break;                              // arbitrary (unaligned) offset
      case 3: off = (t.size / 3) / atom * atom; map_size = t.size - off; break;  // atom-aligned offset
    }
    APP_CHECK(vkMapMemory(ctx.device, t.src_memory, off, map_size, 0, &p));
    CheckMapAlignment(ctx, p, off, name + " (remap)");
    VerifyPattern(p, static_cast<size_t>(t.size - off), t.seed, name + " after unmap/remap at offset " +
                                                                    std::to_string(off), off);
    if (i % 5 == 0) {
      t.src_mapped = true;  // stays mapped until it is freed
    } else {
      vkUnmapMemory(ctx.device, t.src_memory);
    }
  }

  // ---- destinations: device-local preferred, own allocation each; odd ones bound in one bind2 ----
  std::vector<VkBindBufferMemoryInfo> bind2;
  for (uint32_t i = 0; i < count; ++i) {
    TestBuffer& t = tb[i];
    t.dst = MakeBuffer(ctx, t.size, VK_BUFFER_USAGE_TRANSFER_DST_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT);
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(ctx.device, t.dst, &req);
    uint32_t type = ctx.FindMemoryType(req.memoryTypeBits, 0, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
    t.dst_memory = ctx.Allocate(req.size, type);
    if (i % 2 == 0) {
      APP_CHECK(vkBindBufferMemory(ctx.device, t.dst, t.dst_memory, 0));
    } else {
      VkBindBufferMemoryInfo info{};
      info.sType = VK_STRUCTURE_TYPE_BIND_BUFFER_MEMORY_INFO;
      info.buffer = t.dst;
      info.memory = t.dst_memory;
      bind2.push_back(info);
    }
  }
  APP_CHECK(vkBindBufferMemory2(ctx.device, static_cast<uint32_t>(bind2.size()), bind2.data()));

  Buffer readback = CreateBuffer(ctx, readback_size, VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                 VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT,
                                 VK_MEMORY_PROPERTY_HOST_COHERENT_BIT | VK_MEMORY_PROPERTY_HOST_CACHED_BIT);

  // ---- GPU: src -> dst -> readback ----
  ctx.SubmitOneShot([&](VkCommandBuffer cmd) {
    CmdMemoryBarrier(cmd, VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_WRITE_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT,
                     VK_ACCESS_TRANSFER_READ_BIT);
    for (const TestBuffer& t : tb) {
      VkBufferCopy region{0, 0, t.size};
      vkCmdCopyBuffer(cmd, t.src, t.dst, 1, &region);
    }
    CmdMemoryBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                     VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_READ_BIT);
    for (const TestBuffer& t : tb) {
      VkBufferCopy region{0, t.readback_offset, t.size};
      vkCmdCopyBuffer(cmd, t.dst, readback.buffer, 1, &region);
    }
    CmdMemoryBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_HOST_BIT,
                     VK_ACCESS_HOST_READ_BIT);
  });
  const uint8_t* rb = static_cast<const uint8_t*>(MapBuffer(ctx, readback));
  ctx.InvalidateIfNeeded(readback.memory, readback.memory_type);
  Fnv1a64 sum;
  VkDeviceSize total_bytes = 0;
  for (uint32_t i = 0; i < count; ++i) {
    const TestBuffer& t = tb[i];
    VerifyPattern(rb + t.readback_offset, static_cast<size_t>(t.size), t.seed,
                  "buffer " + std::to_string(i) + " read back through vkCmdCopyBuffer");
    sum.Update(rb + t.readback_offset, static_cast<size_t>(t.size));
    total_bytes += t.size;
  }
  UnmapBuffer(ctx, readback);

  // ---- free everything in a shuffled order; sometimes memory before its buffer ----
  std::vector<uint32_t> order(count);
  for (uint32_t i = 0; i < count; ++i) order[i] = i;
  Rng rng(0xf7eeull);
  rng.Shuffle(order);
  for (uint32_t k = 0; k < count; ++k) {
    TestBuffer& t = tb[order[k]];
    if (k % 3 == 0) {
      ctx.Free(t.src_memory);  // a buffer may outlive its memory if it is not used any more
      vkDestroyBuffer(ctx.device, t.src, nullptr);
    } else {
      vkDestroyBuffer(ctx.device, t.src, nullptr);
      ctx.Free(t.src_memory);  // some of these are still mapped
    }
    vkDestroyBuffer(ctx.device, t.dst, nullptr);
    ctx.Free(t.dst_memory);
  }
  DestroyBuffer(ctx, readback);

  const uint64_t sub_sum = RunSuballocated(ctx);
  RunFreeWhileMapped(ctx);

  Info("%u buffers, %llu bytes verified, %llu vkAllocateMemory calls, %.1f ms", count,
       static_cast<unsigned long long>(total_bytes), static_cast<unsigned long long>(ctx.allocate_calls),
       NowMs() - t0);
  PrintChecksum("buffers", sum.value());
  PrintChecksum("suballocated", sub_sum);
}

}  // namespace

int main(int argc, char** argv) { return RunApp(argc, argv, kUsage, Body); }
