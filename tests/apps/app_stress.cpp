// app_stress — many small-to-medium allocations, the way a program with thousands of
// resources uses vkAllocateMemory directly. Per round (fixed seeds, deterministic):
//   A. allocate N host-visible allocations of mixed sizes (70% 256 B-4 KiB, 25% 4-64 KiB,
//      5% 64 KiB-1 MiB; odd sizes), cycling over all plain host-visible memory types; map each,
//      write a per-allocation pattern; half are unmapped again, half stay mapped;
//   B. free a random half (random order, some still mapped), allocate N/2 new ones and write them;
//   C. verify every live allocation (re-mapping the unmapped ones), free all in random order.
// The pattern covers the first 8 bytes of every 64-byte chunk and the last 64 bytes of each
// allocation, so any overlap between two allocations (or lost data) is detected without writing
// every byte. Timings are informational only.
//
// Usage: app_stress [--quiet] [N] [--rounds R]     (default N=10000, R=3)
//
// Output (deterministic lines for comparison):
//   checksum stress <hex>   FNV-1a 64 of all verified data (all rounds)
//   RESULT OK | RESULT FAIL <reason>
// Informational (hidden by --quiet): "info round <r>: ..." timing lines.
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

const char* kUsage = "usage: app_stress [--quiet] [N] [--rounds R]   (default N=10000, R=3)";

struct Allocation {
  VkDeviceMemory memory = VK_NULL_HANDLE;
  VkDeviceSize size = 0;
  uint32_t type = 0;
  uint64_t seed = 0;
  void* mapped = nullptr;
};

VkDeviceSize PickSize(Rng& rng) {
  const uint64_t bucket = rng.Range(0, 99);
  if (bucket < 70) return rng.Range(256, 4096);
  if (bucket < 95) return rng.Range(4097, 65536);
  return rng.Range(65537, 1048576);
}

void WriteSampled(uint8_t* p, size_t size, uint64_t seed) {
  for (size_t off = 0; off < size; off += 64) FillPattern(p + off, std::min<size_t>(8, size - off), seed, off);
  const size_t tail = std::min<size_t>(64, size);
  FillPattern(p + size - tail, tail, seed, size - tail);
}

void VerifySampled(const uint8_t* p, size_t size, uint64_t seed, Fnv1a64& sum, const std::string& what) {
  for (size_t off = 0; off < size; off += 64) {
    const size_t n = std::min<size_t>(8, size - off);
    if (FindPatternMismatch(p + off, n, seed, off) != n) VerifyPattern(p + off, n, seed, what, off);
    sum.Update(p + off, n);
  }
  const size_t tail = std::min<size_t>(64, size);
  VerifyPattern(p + size - tail, tail, seed, what + " (last bytes)", size - tail);
  sum.Update(p + size - tail, tail);
}

struct Timer {
  double alloc_ms = 0, free_ms = 0, map_ms = 0;
  uint64_t allocs = 0, frees = 0;
};

Allocation Create(Context& ctx, Rng& rng, const std::vector<uint32_t>& types, uint64_t serial, uint64_t seed,
                  Timer& timer) {
  Allocation a;
  a.size = PickSize(rng);
  a.type = types[serial % types.size()];
  a.seed = seed;
  double t = NowMs();
  a.memory = ctx.Allocate(a.size, a.type);
  timer.alloc_ms += NowMs() - t;
  ++timer.allocs;
  t = NowMs();
  APP_CHECK(vkMapMemory(ctx.device, a.memory, 0, VK_WHOLE_SIZE, 0, &a.mapped));
  timer.map_ms += NowMs() - t;
  WriteSampled(static_cast<uint8_t*>(a.mapped), static_cast<size_t>(a.size), a.seed);
  ctx.FlushIfNeeded(a.memory, a.type);
  if (serial % 2 == 0) {  // half stay persistently mapped
    vkUnmapMemory(ctx.device, a.memory);
    a.mapped = nullptr;
  }
  return a;
}

void Release(Context& ctx, Allocation& a, Timer& timer) {
  const double t = NowMs();
  ctx.Free(a.memory);  // implicitly unmaps the persistently mapped ones
  timer.free_ms += NowMs() - t;
  ++timer.frees;
  a = Allocation{};
}

void Verify(Context& ctx, Allocation& a, Fnv1a64& sum, const std::string& what) {
  bool remapped = false;
  if (!a.mapped) {
    APP_CHECK(vkMapMemory(ctx.device, a.memory, 0, VK_WHOLE_SIZE, 0, &a.mapped));
    remapped = true;
  }
  ctx.InvalidateIfNeeded(a.memory, a.type);
  VerifySampled(static_cast<const uint8_t*>(a.mapped), static_cast<size_t>(a.size), a.seed, sum, what);
  if (remapped) {
    vkUnmapMemory(ctx.device, a.memory);
    a.mapped = nullptr;
  }
}

void Body(const Options& options) {
  uint64_t n = 10000, rounds = 3;
  bool have_n = false;
  for (size_t i = 0; i < options.args.size(); ++i) {
    if (options.args[i] == "--rounds") {
      if (i + 1 >= options.args.size()) Fail(kExitUsage, "--rounds needs a value");
      rounds = ParseUnsigned(options.args[++i], "--rounds");
    } else if (!have_n) {
      n = ParseUnsigned(options.args[i], "N");
      have_n = true;
    } else {
      Fail(kExitUsage, "unexpected argument " + options.args[i]);
    }
  }
  if (n < 2 || n > 1000000) Fail(kExitUsage, "N must be in 2..1000000");
  if (rounds < 1 || rounds > 1000) Fail(kExitUsage, "R must be in 1..1000");

  ContextOptions co;
  co.app_name = "app_stress";
  Context ctx(co);
  const std::vector<uint32_t> types = ctx.HostVisibleTypes();
  if (types.empty()) Fail(kExitUnsupported, "no host-visible memory type");
  Info("%zu host-visible memory type(s), N=%llu, rounds=%llu", types.size(), static_cast<unsigned long long>(n),
       static_cast<unsigned long long>(rounds));

  Fnv1a64 sum;
  Timer total;
  const double t_start = NowMs();
  for (uint64_t round = 0; round < rounds; ++round) {
    Rng rng(0x57e55ull * (round + 1));
    Timer timer;
    uint64_t serial = 0;
    const double t_round = NowMs();
    VkDeviceSize live_bytes = 0, peak_bytes = 0;

    // A: allocate, map, write.
    std::vector<Allocation> live;
    live.reserve(n + n / 2);
    for (uint64_t k = 0; k < n; ++k, ++serial) {
      live.push_back(Create(ctx, rng, types, serial, (round << 32) ^ serial, timer));
      live_bytes += live.back().size;
    }
    peak_bytes = live_bytes;

    // B: free a random half (random order), replace it with new allocations.
    std::vector<size_t> order(live.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    rng.Shuffle(order);
    for (size_t i = 0; i < order.size() / 2; ++i) {
      live_bytes -= live[order[i]].size;
      Release(ctx, live[order[i]], timer);
    }
    live.erase(std::remove_if(live.begin(), live.end(), [](const Allocation& a) { return !a.memory; }), live.end());
    for (uint64_t k = 0; k < n / 2; ++k, ++serial) {
      live.push_back(Create(ctx, rng, types, serial, (round << 32) ^ serial, timer));
      live_bytes += live.back().size;
    }
    peak_bytes = std::max(peak_bytes, live_bytes);

    // C: verify everything that is alive, then free all in random order.
    for (size_t i = 0; i < live.size(); ++i)
      Verify(ctx, live[i], sum,
             "round " + std::to_string(round) + " allocation " + std::to_string(i) + " (" +
                 std::to_string(live[i].size) + " B, seed " + std::to_string(live[i].seed) + ")");
    order.resize(live.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    rng.Shuffle(order);
    for (size_t i : order) Release(ctx, live[i], timer);

    Info("round %llu: %llu allocs %.1f ms (%.2f us each), %llu frees %.1f ms (%.2f us each), map %.1f ms, "
         "peak %.1f MiB, round %.1f ms",
         static_cast<unsigned long long>(round), static_cast<unsigned long long>(timer.allocs), timer.alloc_ms,
         1000.0 * timer.alloc_ms / static_cast<double>(timer.allocs), static_cast<unsigned long long>(timer.frees),
         timer.free_ms, 1000.0 * timer.free_ms / static_cast<double>(timer.frees), timer.map_ms,
         static_cast<double>(peak_bytes) / 1048576.0, NowMs() - t_round);
    total.alloc_ms += timer.alloc_ms;
    total.free_ms += timer.free_ms;
    total.allocs += timer.allocs;
    total.frees += timer.frees;
  }
  Info("total: %llu allocs %.1f ms, %llu frees %.1f ms, %.1f ms overall",
       static_cast<unsigned long long>(total.allocs), total.alloc_ms, static_cast<unsigned long long>(total.frees),
       total.free_ms, NowMs() - t_start);
  PrintChecksum("stress", sum.value());
}

}  // namespace

int main(int argc, char** argv) { return RunApp(argc, argv, kUsage, Body); }
