// libFuzzer target for every Metadata algorithm. The input decodes to a block configuration and
// then a list of operations; after each operation the allocations are checked against a shadow
// model (aligned, inside the block, no overlap including margins, no granularity conflict on a
// shared page) and Metadata::Validate() must hold. For TLSF in the virtual layout (isVirtual, no
// margins, no granularity: what VirtualBlock uses) a twin block takes the same operations through
// AllocateVirtual and FreeVirtual and must place every request as Allocate does. Any violation
// aborts with a message.
//
// Input layout:
//   byte 0  algorithm (mod 3: TLSF, linear, buddy)
//   byte 1  strategy flags (mod 4: default, min-time, min-memory, min-offset) and bit 7: virtual
//   byte 2  block size: 2^(8 + b % 17) plus (b >> 5) * 1000 (buddy: power of two)
//   byte 3  bufferImageGranularity: 2^(b % 14), or 1 when b & 0x80
//   byte 4  marginBefore (b & 0xF) * 4, marginAfter (b >> 4) * 4 (none for buddy)
//   then ops: one opcode byte each
//     opcode % 8 in 0..4: allocate; two bytes size (1 + u16), one byte (alignment exponent % 12,
//                          kind 1 + (b >> 4) % 5); opcode bit 3: upper address
//     opcode % 8 in 5..6: free live allocation number (next byte % count)
//     opcode % 8 == 7:    clear when the opcode's high bits are all set (0xFF), else free the newest
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "metadata.h"
#include "tlsf_metadata.h"

namespace {

using namespace vma::core;

[[noreturn]] void Die(const std::string& what) {
    std::fprintf(stderr, "vma_core_fuzz: %s\n", what.c_str());
    std::abort();
}

struct Reader {
    const std::uint8_t* data;
    std::size_t size;
    std::size_t pos = 0;
    bool Empty() const { return pos >= size; }
    std::uint8_t Byte() { return pos < size ? data[pos++] : 0; }
};

struct Live {
    AllocHandle handle;
    Size offset;
    Size size;
    SuballocKind kind;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 5) return 0;
    Reader in{data, size};
    const auto algorithm = static_cast<Algorithm>(in.Byte() % 3);
    const std::uint8_t strategyByte = in.Byte();
    static const std::uint32_t kStrategies[] = {0, kAllocStrategyMinTime, kAllocStrategyMinMemory,
                                                kAllocStrategyMinOffset};
    const std::uint32_t strategy = kStrategies[strategyByte % 4];
    const std::uint8_t sizeByte = in.Byte();
    const std::uint8_t granularityByte = in.Byte();
    const std::uint8_t marginByte = in.Byte();

    MetadataConfig config;
    config.isVirtual = (strategyByte & 0x80) != 0;
    config.size = Size{1} << (8 + sizeByte % 17);
    if (algorithm != Algorithm::kBuddy) config.size += static_cast<Size>(sizeByte >> 5) * 1000;
    config.bufferImageGranularity = (granularityByte & 0x80) ? 1 : Size{1} << (granularityByte % 14);
    if (algorithm != Algorithm::kBuddy) {
        config.marginBefore = Size{marginByte & 0xFu} * 4;
        config.marginAfter = static_cast<Size>(marginByte >> 4) * 4;
    }

    std::unique_ptr<Metadata> m = CreateMetadata(algorithm);
    if (!m) Die("CreateMetadata returned nullptr for algorithm " + std::to_string(static_cast<int>(algorithm)));
    m->Init(config);
    std::unique_ptr<TlsfMetadata> twin;
    if (algorithm == Algorithm::kTlsf && config.isVirtual && config.marginBefore == 0 && config.marginAfter == 0 &&
        config.bufferImageGranularity == 1) {
        twin = std::make_unique<TlsfMetadata>();
        twin->Init(config);
    }
    auto release = [&](AllocHandle h) {
        m->Free(h);
        if (twin) twin->FreeVirtual(h);
    };

    std::vector<Live> live;
    std::map<Size, Live> byOffset;
    const Size g = config.bufferImageGranularity;

    auto check = [&](const char* op) {
        std::string why;
        if (!m->Validate(&why)) Die(std::string("Validate failed after ") + op + ": " + why);
        if (m->GetAllocationCount() != live.size()) Die(std::string("allocation count wrong after ") + op);
        if (twin && !twin->Validate(&why)) Die(std::string("twin: Validate failed after ") + op + ": " + why);
    };

    while (!in.Empty()) {
        const std::uint8_t opcode = in.Byte();
        const unsigned kind = opcode % 8;
        if (kind <= 4) {
            const Size allocSize = 1 + (Size{in.Byte()} | (Size{in.Byte()} << 8));
            const std::uint8_t b = in.Byte();
            const Size alignment = Size{1} << (b % 12);
            const auto suballocKind = static_cast<SuballocKind>(1 + (b >> 4) % 5);
            const std::uint32_t flags = strategy | ((opcode & 0x8) ? std::uint32_t{kAllocUpperAddress} : 0u);
            Size offset = kWholeSize;
            const AllocHandle h = m->Allocate(allocSize, alignment, suballocKind, flags, nullptr, &offset);
            if (twin) {
                const TlsfMetadata::Placed p = twin->AllocateVirtual(allocSize, alignment, flags, nullptr);
                if (p.handle != h || p.offset != (h != kNullHandle ? offset : kWholeSize)) {
                    Die("AllocateVirtual placed " + std::to_string(allocSize) + " (alignment " +
                        std::to_string(alignment) + ") at " + std::to_string(p.offset) + ", Allocate at " +
                        std::to_string(h != kNullHandle ? offset : kWholeSize));
                }
            }
            if (h != kNullHandle) {
                Live a{h, offset, m->GetAllocationSize(h), suballocKind};
                if (m->GetOffset(h) != offset) Die("GetOffset disagrees with Allocate");
                if (a.size < allocSize) Die("allocation smaller than requested");
                if (offset % alignment != 0) Die("offset " + std::to_string(offset) + " not aligned");
                if (offset < config.marginBefore || offset + a.size + config.marginAfter > config.size) {
                    Die("allocation outside the block or its margins");
                }
                auto next = byOffset.lower_bound(offset);
                const Size gap = config.marginBefore + config.marginAfter;
                if (next != byOffset.end() && offset + a.size + gap > next->first) Die("overlap with next");
                if (next != byOffset.begin()) {
                    auto prev = std::prev(next);
                    if (prev->first + prev->second.size + gap > offset) Die("overlap with previous");
                }
                if (g > 1) {
                    for (auto it = next; it != byOffset.end() && it->first / g <= (offset + a.size - 1) / g; ++it) {
                        if (TlsfMetadata::KindsConflict(suballocKind, it->second.kind)) Die("granularity conflict");
                    }
                    for (auto it = next; it != byOffset.begin();) {
                        --it;
                        if ((it->first + it->second.size - 1) / g < offset / g) break;
                        if (TlsfMetadata::KindsConflict(suballocKind, it->second.kind)) Die("granularity conflict");
                    }
                }
                byOffset.emplace(offset, a);
                live.push_back(a);
            }
            check("allocate");
        } else if (kind <= 6) {
            if (live.empty()) continue;
            const std::size_t k = in.Byte() % live.size();
            release(live[k].handle);
            byOffset.erase(live[k].offset);
            live[k] = live.back();
            live.pop_back();
            check("free");
        } else if (opcode == 0xFF) {
            m->Clear();
            if (twin) twin->Clear();
            live.clear();
            byOffset.clear();
            if (!m->IsEmpty()) Die("not empty after Clear");
            check("clear");
        } else if (!live.empty()) {
            release(live.back().handle);
            byOffset.erase(live.back().offset);
            live.pop_back();
            check("free newest");
        }
    }
    for (const Live& a : live) release(a.handle);
    live.clear();
    if (!m->IsEmpty()) Die("not empty after freeing everything");
    check("free all");
    return 0;
}
