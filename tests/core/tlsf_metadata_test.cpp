// Unit tests of TlsfMetadata: size classes, placement rules per strategy, alignment, margins,
// bufferImageGranularity (both modes), merging, Walk, statistics and Validate().
#include "tlsf_metadata.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <vector>

namespace vma::core {

// Test-only access to TlsfMetadata's state, to prove that Validate() notices damage.
class TlsfMetadataTestPeer {
public:
    static void FlipFirstListBit(TlsfMetadata& m) { m.listBitmaps_[0] ^= 1u; }
    static void FlipClassBit(TlsfMetadata& m, unsigned cls) { m.classBitmap_ ^= std::uint64_t{1} << cls; }
    static void GrowNode(TlsfMetadata& m, AllocHandle h, Size by) { m.node(h).size += by; }
    static void ShrinkNode(TlsfMetadata& m, AllocHandle h, Size by) { m.node(h).size -= by; }
    static void BreakPrevLink(TlsfMetadata& m, AllocHandle h) { m.node(h).prevPhys = TlsfMetadata::kNil; }
    static void MarkFree(TlsfMetadata& m, AllocHandle h) { m.nodes_.SetCell(h - 1, TlsfMetadata::FreeCell(0)); }
    // Makes free node `node`'s cell name `list` instead of its own list.
    static void SetCellList(TlsfMetadata& m, std::uint32_t node, std::uint32_t list) {
        m.nodes_.SetCell(node, TlsfMetadata::FreeCell(list));
    }
    static void CountOneMoreAllocation(TlsfMetadata& m) { ++m.allocationCount_; }
    static void BumpPageCount(TlsfMetadata& m, std::size_t page) { ++m.pages_.at(page).count; }
    static void SetPageKind(TlsfMetadata& m, std::size_t page, SuballocKind k) { m.pages_.at(page).kind = k; }
    // Moves free node `node` from its own list to `list` (bitmaps kept consistent with the lists).
    // (The node must be alone in its list, as the test's node is.)
    static void MoveToList(TlsfMetadata& m, std::uint32_t node, std::uint32_t list) {
        const std::uint32_t own = m.ListIndex(m.nodes_[node].size);
        ASSERT_EQ(m.heads_[own], node);
        ASSERT_EQ(m.nodes_[node].link.free.next, TlsfMetadata::kNil);
        m.heads_[own] = TlsfMetadata::kNil;
        m.listBitmaps_[own >> 5] &= ~(1u << (own & 31));
        if (m.listBitmaps_[own >> 5] == 0) m.classBitmap_ &= ~(std::uint64_t{1} << (own >> 5));
        const std::uint32_t head = m.heads_[list];
        m.nodes_[node].link.free.next = head;
        if (head != TlsfMetadata::kNil) m.nodes_[head].link.free.prev = node;
        m.heads_[list] = node;
        m.listBitmaps_[list >> 5] |= 1u << (list & 31);
        m.classBitmap_ |= std::uint64_t{1} << (list >> 5);
    }
    static std::uint32_t FirstNode(const TlsfMetadata& m) { return m.firstNode_; }
};

namespace {

MetadataConfig Config(Size size, bool isVirtual = true, Size granularity = 1, Size marginBefore = 0,
                      Size marginAfter = 0) {
    MetadataConfig c;
    c.size = size;
    c.isVirtual = isVirtual;
    c.bufferImageGranularity = granularity;
    c.marginBefore = marginBefore;
    c.marginAfter = marginAfter;
    return c;
}

struct Alloc {
    AllocHandle handle = kNullHandle;
    Size offset = 0;
    Size size = 0;
    SuballocKind kind = SuballocKind::kUnknown;
};

Alloc Allocate(TlsfMetadata& m, Size size, Size alignment = 1, std::uint32_t flags = 0,
               SuballocKind kind = SuballocKind::kUnknown) {
    Alloc a;
    a.handle = m.Allocate(size, alignment, kind, flags, nullptr, &a.offset);
    a.size = a.handle != kNullHandle ? m.GetAllocationSize(a.handle) : 0;
    a.kind = kind;
    return a;
}

void ExpectValid(const TlsfMetadata& m) {
    std::string why;
    EXPECT_TRUE(m.Validate(&why)) << why;
}

std::vector<RangeInfo> Ranges(const Metadata& m) {
    std::vector<RangeInfo> out;
    m.Walk([&](const RangeInfo& r) { out.push_back(r); });
    return out;
}

// ----------------------------------------------------------------------------------------------

TEST(TlsfSizeClasses, SmallClassesMatchVma) {
    TlsfMetadata real, virt;
    real.Init(Config(1 << 20, false));
    virt.Init(Config(1 << 20, true));
    // Real blocks: 4 lists of 64 B below 256; virtual blocks: 32 lists of 8 units.
    EXPECT_EQ(real.ListIndex(0), 0u);
    EXPECT_EQ(real.ListIndex(63), 0u);
    EXPECT_EQ(real.ListIndex(64), 1u);
    EXPECT_EQ(real.ListIndex(255), 3u);
    EXPECT_EQ(virt.ListIndex(7), 0u);
    EXPECT_EQ(virt.ListIndex(8), 1u);
    EXPECT_EQ(virt.ListIndex(255), 31u);
    // From 256 on, both use 32 second-level lists per power of two.
    EXPECT_EQ(real.ListIndex(256), 32u);
    EXPECT_EQ(virt.ListIndex(256), 32u);
    EXPECT_EQ(real.ListIndex(511), 63u);
    EXPECT_EQ(real.ListIndex(512), 64u);
    EXPECT_EQ(real.ListLowerBound(33), 264u);  // class 1 lists are 8 wide
    EXPECT_EQ(real.ListLowerBound(65), 528u);  // class 2 lists are 16 wide
}

TEST(TlsfSizeClasses, RoundDownAndRoundUpAreConsistent) {
    for (bool isVirtual : {false, true}) {
        TlsfMetadata m;
        m.Init(Config(Size{1} << 44, isVirtual));
        std::mt19937_64 rng(7);
        std::vector<Size> sizes;
        for (Size s = 1; s < 5000; ++s) sizes.push_back(s);
        for (int i = 0; i < 20000; ++i) sizes.push_back(1 + rng() % (Size{1} << (1 + rng() % 43)));
        // Around every power of two and the last list of each class (where rounding up crosses
        // into the next class).
        for (unsigned b = 3; b < 62; ++b) {
            const Size p = Size{1} << b;
            for (Size d = 0; d < 3; ++d) sizes.insert(sizes.end(), {p - 1 - d, p + d, p + 1 + d});
            if (b >= 8) sizes.insert(sizes.end(), {p - (p >> 5) - 1, p - (p >> 5), p - (p >> 5) + 1});
        }
        for (Size s : sizes) {
            const std::uint32_t down = m.ListIndex(s);
            ASSERT_LE(m.ListLowerBound(down), s) << s;
            ASSERT_GT(m.ListLowerBound(down + 1), s) << s;
            // Round up: the list of s itself when s is its lower bound, else the next list that
            // exists (real blocks have only 4 small lists: after list 3 comes list 32).
            const std::uint32_t up = m.ListIndexRoundUp(s);
            const std::uint32_t expectedUp =
                m.ListLowerBound(down) == s ? down : m.ListIndex(m.ListLowerBound(down + 1));
            ASSERT_EQ(up, expectedUp) << s;
            ASSERT_GE(m.ListLowerBound(up), s) << s;  // every node of that list is large enough
            // Virtual blocks' lists are contiguous (8-unit lists below 256), so rounding up is the
            // list of s − 1, plus one: VirtualListIndexRoundUp computes it so.
            if (isVirtual) {
                ASSERT_EQ(up, m.ListIndex(s - 1) + 1) << s;
            }
        }
    }
}

TEST(TlsfConflictTable, MatchesVma) {
    using K = SuballocKind;
    const K kinds[] = {K::kFree, K::kUnknown, K::kBuffer, K::kImageUnknown, K::kImageLinear, K::kImageOptimal};
    // Rows/columns in enum order; from VMA's VmaIsBufferImageGranularityConflict.
    const bool expected[6][6] = {
        {0, 0, 0, 0, 0, 0}, {0, 1, 1, 1, 1, 1}, {0, 1, 0, 1, 0, 1},
        {0, 1, 1, 1, 1, 1}, {0, 1, 0, 1, 0, 1}, {0, 1, 1, 1, 1, 0},
    };
    for (int a = 0; a < 6; ++a) {
        for (int b = 0; b < 6; ++b) {
            EXPECT_EQ(TlsfMetadata::KindsConflict(kinds[a], kinds[b]), expected[a][b])
                << SuballocKindName(kinds[a]) << " vs " << SuballocKindName(kinds[b]);
        }
    }
}

TEST(TlsfMetadata, EmptyBlockIsOneFreeRange) {
    TlsfMetadata m;
    m.Init(Config(1000));
    ExpectValid(m);
    EXPECT_TRUE(m.IsEmpty());
    EXPECT_EQ(m.GetSumFreeSize(), 1000u);
    EXPECT_EQ(m.GetFreeRegionsCount(), 1u);
    const auto ranges = Ranges(m);
    ASSERT_EQ(ranges.size(), 1u);
    EXPECT_TRUE(ranges[0].free);
    EXPECT_EQ(ranges[0].offset, 0u);
    EXPECT_EQ(ranges[0].size, 1000u);
}

TEST(TlsfMetadata, EveryOffsetAlignedForManyAlignments) {
    std::mt19937_64 rng(42);
    for (bool isVirtual : {false, true}) {
        for (std::uint32_t flags : {0u, std::uint32_t{kAllocStrategyMinTime}, std::uint32_t{kAllocStrategyMinMemory},
                                    std::uint32_t{kAllocStrategyMinOffset}}) {
            TlsfMetadata m;
            m.Init(Config(Size{1} << 24, isVirtual));
            std::vector<Alloc> live;
            for (int i = 0; i < 3000; ++i) {
                if (!live.empty() && rng() % 3 == 0) {
                    const std::size_t k = rng() % live.size();
                    m.Free(live[k].handle);
                    live[k] = live.back();
                    live.pop_back();
                    continue;
                }
                const Size alignment = Size{1} << (rng() % 17);  // 1 .. 65536
                const Size size = 1 + rng() % 5000;
                Alloc a = Allocate(m, size, alignment, flags);
                if (a.handle == kNullHandle) continue;
                ASSERT_EQ(a.offset % alignment, 0u) << "alignment " << alignment;
                ASSERT_EQ(m.GetOffset(a.handle), a.offset);
                ASSERT_EQ(a.size, size);
                live.push_back(a);
            }
            ExpectValid(m);
            // No overlap, and used + free = size.
            std::sort(live.begin(), live.end(), [](const Alloc& x, const Alloc& y) { return x.offset < y.offset; });
            Size used = 0;
            for (std::size_t i = 0; i < live.size(); ++i) {
                used += live[i].size;
                if (i + 1 < live.size()) {
                    ASSERT_LE(live[i].offset + live[i].size, live[i + 1].offset);
                }
            }
            EXPECT_EQ(used + m.GetSumFreeSize(), m.GetSize());
            EXPECT_EQ(m.GetAllocationCount(), live.size());
        }
    }
}

TEST(TlsfMetadata, AlignmentPaddingBecomesFreeRange) {
    TlsfMetadata m;
    m.Init(Config(4096));
    const Alloc a = Allocate(m, 10);
    const Alloc b = Allocate(m, 100, 64);
    ASSERT_NE(b.handle, kNullHandle);
    EXPECT_EQ(a.offset, 0u);
    EXPECT_EQ(b.offset, 64u);
    const auto ranges = Ranges(m);
    ASSERT_GE(ranges.size(), 3u);
    EXPECT_TRUE(ranges[1].free);
    EXPECT_EQ(ranges[1].offset, 10u);
    EXPECT_EQ(ranges[1].size, 54u);
    ExpectValid(m);
    // The padding is usable by a request that fits it.
    const Alloc c = Allocate(m, 40, 2, kAllocStrategyMinMemory);
    EXPECT_EQ(c.offset, 10u);
    ExpectValid(m);
}

// Holes of sizes 300, 150, 200 (in that address order) separated by allocations.
struct HoleFixture {
    TlsfMetadata m;
    Size hole300 = 0, hole150 = 0, hole200 = 0;
    explicit HoleFixture(Size blockSize = 10000) {
        m.Init(Config(blockSize));
        std::vector<Alloc> a;
        for (Size s : {Size{300}, Size{50}, Size{150}, Size{50}, Size{200}, Size{50}}) a.push_back(Allocate(m, s));
        hole300 = a[0].offset;
        hole150 = a[2].offset;
        hole200 = a[4].offset;
        m.Free(a[0].handle);
        m.Free(a[2].handle);
        m.Free(a[4].handle);
    }
};

TEST(TlsfStrategy, MinMemoryPicksBestFit) {
    HoleFixture f;
    EXPECT_EQ(Allocate(f.m, 140, 1, kAllocStrategyMinMemory).offset, f.hole150);
    EXPECT_EQ(Allocate(f.m, 160, 1, kAllocStrategyMinMemory).offset, f.hole200);
    EXPECT_EQ(Allocate(f.m, 250, 1, kAllocStrategyMinMemory).offset, f.hole300);
    ExpectValid(f.m);
}

TEST(TlsfStrategy, MinMemoryBestFitAccountsForAlignment) {
    TlsfMetadata m;
    m.Init(Config(10000));
    // Hole A: 120 units at offset 1 (needs 63 units of padding for alignment 64);
    // hole B: 130 units at offset 256 (aligned). A 100-unit request aligned to 64 only fits B.
    Alloc lead = Allocate(m, 1);
    Alloc a = Allocate(m, 120);
    Alloc gap = Allocate(m, 135);
    Alloc b = Allocate(m, 130);
    Alloc tail = Allocate(m, 10);
    ASSERT_EQ(b.offset, 256u);
    m.Free(a.handle);
    m.Free(b.handle);
    EXPECT_EQ(Allocate(m, 100, 64, kAllocStrategyMinMemory).offset, 256u);
    (void)lead;
    (void)gap;
    (void)tail;
    ExpectValid(m);
}

// Min-memory examines at most kBestFitLimit nodes below the sure list: with large alignments those
// lists fill with paddings that fit nothing. Holes of 104 units at offsets 8 past a multiple of 16
// (the list 104-111 of a virtual block's class 0) cannot hold 100 units aligned to 16; one more
// hole of 104 at a multiple of 16 can, but lies deeper in the list than the budget reaches (lists
// are LIFO: freed first, found last). With a 1,000-unit hole in a list that surely fits, that hole
// is taken (an exhaustive best fit would take the deep one). Without it, and without a free tail, the
// search does not give up: every node that could fit is searched and the deep hole is found.
TEST(TlsfStrategy, MinMemoryExaminesABoundedNumberOfNodesBelowTheSureList) {
    for (const bool withSureHole : {true, false}) {
        // Lay the block out twice: once to learn its used size, then in a block of exactly that
        // size, so that the second layout has no free tail.
        Size blockSize = 100000;
        for (int pass = 0; pass < 2; ++pass) {
            TlsfMetadata m;
            m.Init(Config(blockSize));
            std::vector<Alloc> misfits;
            for (std::uint32_t i = 0; i <= TlsfMetadata::kBestFitLimit; ++i) {
                Allocate(m, 8);
                misfits.push_back(Allocate(m, 104));
            }
            Allocate(m, 16);
            const Alloc fit = Allocate(m, 104);
            Alloc last = Allocate(m, 8);
            Alloc big;
            if (withSureHole) {
                big = Allocate(m, 1000);
                last = Allocate(m, 8);
            }
            if (pass == 0 && !withSureHole) {
                blockSize = last.offset + last.size;
                continue;
            }
            for (const Alloc& a : misfits) ASSERT_EQ(a.offset % 16, 8u);
            ASSERT_EQ(fit.offset % 16, 0u);
            if (withSureHole) m.Free(big.handle);
            m.Free(fit.handle);
            for (const Alloc& a : misfits) m.Free(a.handle);
            ExpectValid(m);
            const Alloc x = Allocate(m, 100, 16, kAllocStrategyMinMemory);
            ASSERT_NE(x.handle, kNullHandle) << "sure hole " << withSureHole;
            EXPECT_EQ(x.offset, withSureHole ? AlignUp(big.offset, 16) : fit.offset) << "sure hole " << withSureHole;
            ExpectValid(m);
            break;
        }
    }
}

TEST(TlsfStrategy, MinOffsetPicksLowest) {
    HoleFixture f;
    EXPECT_EQ(Allocate(f.m, 250, 1, kAllocStrategyMinOffset).offset, f.hole300);
    EXPECT_EQ(Allocate(f.m, 100, 1, kAllocStrategyMinOffset).offset, f.hole150);  // 50 left at 250: too small
    EXPECT_EQ(Allocate(f.m, 40, 1, kAllocStrategyMinOffset).offset, f.hole300 + 250);
    EXPECT_EQ(Allocate(f.m, 150, 1, kAllocStrategyMinOffset).offset, f.hole200);
    ExpectValid(f.m);
}

// The default strategy's probe budget below the sure list: kAlignedProbeLimit nodes for aligned
// requests. Four holes of 104 units sit in one list (104-111); a request of 100 aligned to 16 fits
// only the one that starts on a multiple of 16 (the others start 8 past one and would need 108).
// That one is the deepest in its list, or the second.
TEST(TlsfStrategy, AlignedRequestsProbeABoundedNumberOfNodesBelowTheSureList) {
    static_assert(TlsfMetadata::kAlignedProbeLimit == 2);
    for (const bool deep : {true, false}) {
        TlsfMetadata m;
        m.Init(Config(100000));
        Allocate(m, 8);                          // [0, 8)
        const Alloc h1 = Allocate(m, 104);       // at 8: 8 past a multiple of 16
        Allocate(m, 8);
        const Alloc h2 = Allocate(m, 104);       // at 120
        Allocate(m, 8);
        const Alloc h3 = Allocate(m, 104);       // at 232
        Allocate(m, 16);
        const Alloc fit = Allocate(m, 104);      // at 352 = 22 * 16
        Allocate(m, 8);
        const Alloc big = Allocate(m, 1000);     // in a list that surely fits
        Allocate(m, 8);
        ASSERT_EQ(h1.offset % 16, 8u);
        ASSERT_EQ(h2.offset % 16, 8u);
        ASSERT_EQ(h3.offset % 16, 8u);
        ASSERT_EQ(fit.offset % 16, 0u);
        m.Free(big.handle);
        m.Free(fit.handle);  // lists are LIFO: freed first, probed last
        if (deep) {
            m.Free(h3.handle);
            m.Free(h2.handle);
        }
        m.Free(h1.handle);
        ExpectValid(m);
        // Deep: h1, h2 fail and the budget is spent; the sure list's hole is taken. Otherwise the
        // second probe finds the fitting hole.
        const Alloc x = Allocate(m, 100, 16);
        EXPECT_EQ(x.offset, deep ? AlignUp(big.offset, 16) : fit.offset) << "deep " << deep;
        ExpectValid(m);
    }
}

// Below the sure list, a hole that may or may not fit: of 101 units in the list that starts at 96,
// for a request of 100. Aligned to 4 (the hole starts at 0) the default strategy probes it and
// takes it; min-time goes straight to a list that surely fits (the 1000-unit hole) without looking
// at nodes that might not fit. At alignment 1 the default does the same as min-time, as VMA's
// default does: there the sure list is the next list, and probing for a closer fit cost more time
// than the free ranges it saved were worth (docs/PERFORMANCE.md, ninth round).
TEST(TlsfStrategy, DefaultProbesCloseFitForAlignedRequestsMinTimeTakesSureFit) {
    for (const Size alignment : {Size{4}, Size{1}}) {
        for (std::uint32_t flags : {0u, std::uint32_t{kAllocStrategyMinTime}}) {
            TlsfMetadata m;
            m.Init(Config(100000));
            const Alloc small = Allocate(m, 101);
            Allocate(m, 11);
            const Alloc big = Allocate(m, 1000);
            Allocate(m, 10);
            ASSERT_EQ(small.offset, 0u);
            m.Free(small.handle);
            m.Free(big.handle);
            const Alloc x = Allocate(m, 100, alignment, flags);
            const bool probes = flags == 0 && alignment > 1;
            EXPECT_EQ(x.offset, probes ? small.offset : AlignUp(big.offset, alignment))
                << "alignment " << alignment << " flags " << flags;
            ExpectValid(m);
        }
    }
}

TEST(TlsfStrategy, HolesAreUsedBeforeTheTail) {
    for (std::uint32_t flags : {0u, std::uint32_t{kAllocStrategyMinTime}, std::uint32_t{kAllocStrategyMinMemory}}) {
        HoleFixture f;
        const Alloc x = Allocate(f.m, 120, 1, flags);
        EXPECT_LT(x.offset, f.hole200 + 200) << "flags " << flags;
    }
}

TEST(TlsfMetadata, FailsWhenFull) {
    TlsfMetadata m;
    m.Init(Config(1000));
    std::vector<Alloc> a;
    for (int i = 0; i < 10; ++i) {
        a.push_back(Allocate(m, 100));
        ASSERT_NE(a.back().handle, kNullHandle);
    }
    EXPECT_EQ(m.GetSumFreeSize(), 0u);
    Size offset = 12345;
    EXPECT_EQ(m.Allocate(1, 1, SuballocKind::kUnknown, 0, nullptr, &offset), kNullHandle);
    EXPECT_EQ(offset, 12345u);  // untouched on failure
    m.Free(a[3].handle);
    m.Free(a[7].handle);
    // 200 free in total, but no 150 in one piece.
    for (std::uint32_t flags : {0u, std::uint32_t{kAllocStrategyMinTime}, std::uint32_t{kAllocStrategyMinMemory},
                                std::uint32_t{kAllocStrategyMinOffset}}) {
        EXPECT_EQ(Allocate(m, 150, 1, flags).handle, kNullHandle);
        EXPECT_EQ(Allocate(m, 100, 128, flags).handle, kNullHandle);  // 300 and 700: neither 128-aligned
    }
    const Alloc b = Allocate(m, 100, 4);
    EXPECT_TRUE(b.offset == 300 || b.offset == 700);
    EXPECT_EQ(Allocate(m, 0).handle, kNullHandle);      // zero size
    EXPECT_EQ(Allocate(m, 5000).handle, kNullHandle);   // larger than the block
    EXPECT_EQ(Allocate(m, 10, 3).handle, kNullHandle);  // not a power of two
    ExpectValid(m);
}

TEST(TlsfMetadata, FreeInAnyOrderMergesBackToOneRange) {
    std::mt19937_64 rng(3);
    for (int round = 0; round < 20; ++round) {
        TlsfMetadata m;
        m.Init(Config(1 << 20, round % 2 == 0));
        std::vector<Alloc> live;
        for (int i = 0; i < 500; ++i) {
            Alloc a = Allocate(m, 1 + rng() % 3000, Size{1} << (rng() % 9), rng() % 2 ? 0u : kAllocStrategyMinMemory);
            if (a.handle != kNullHandle) live.push_back(a);
        }
        std::shuffle(live.begin(), live.end(), rng);
        for (std::size_t i = 0; i < live.size(); ++i) {
            m.Free(live[i].handle);
            if (i % 50 == 0) ExpectValid(m);
        }
        ExpectValid(m);
        EXPECT_TRUE(m.IsEmpty());
        EXPECT_EQ(m.GetFreeRegionsCount(), 1u);
        const auto ranges = Ranges(m);
        ASSERT_EQ(ranges.size(), 1u);
        EXPECT_EQ(ranges[0].size, Size{1} << 20);
    }
}

// Free unlinks the free neighbours it merges with without branching on where they sit in their
// lists. Paddings of one size share a list (the last made at its head), so freeing the allocations
// between them in every order unlinks heads, middles, last nodes and nodes alone in their list,
// from either side, and links merged nodes into empty and non-empty lists.
TEST(TlsfMetadata, FreeUnlinksNeighboursFromAnyListPosition) {
    for (bool isVirtual : {true, false}) {
        std::vector<int> order = {1, 2, 3, 4};
        do {
            TlsfMetadata m;
            m.Init(Config(4096, isVirtual));
            // [0,4) A0, [4,8) padding, [8,12) A1, [12,16) padding, ... A5, then the tail.
            std::vector<Alloc> a;
            for (int i = 0; i < 6; ++i) {
                a.push_back(Allocate(m, 4, 8));
                ASSERT_NE(a.back().handle, kNullHandle);
                ASSERT_EQ(a.back().offset, Size(8 * i));
            }
            ASSERT_EQ(m.GetFreeRegionsCount(), 6u);  // five paddings and the tail
            for (int i : order) {
                m.Free(a[i].handle);
                ExpectValid(m);
            }
            // A1..A4 and the paddings around them are one range [4, 40).
            EXPECT_EQ(m.GetFreeRegionsCount(), 2u);
            const auto ranges = Ranges(m);
            ASSERT_EQ(ranges.size(), 4u);
            EXPECT_EQ(ranges[1].offset, 4u);
            EXPECT_EQ(ranges[1].size, 36u);
            EXPECT_TRUE(ranges[1].free);
            m.Free(a[0].handle);
            m.Free(a[5].handle);
            ExpectValid(m);
            EXPECT_TRUE(m.IsEmpty());
            EXPECT_EQ(m.GetFreeRegionsCount(), 1u);
        } while (std::next_permutation(order.begin(), order.end()));
    }
}

TEST(TlsfMetadata, WalkIsInAddressOrderAndCoversTheBlock) {
    TlsfMetadata m;
    m.Init(Config(100000));
    std::mt19937_64 rng(5);
    std::vector<Alloc> live;
    int tags[300];
    for (int i = 0; i < 300; ++i) {
        Alloc a;
        a.handle = m.Allocate(1 + rng() % 300, Size{1} << (rng() % 6), SuballocKind::kBuffer, 0, &tags[i], &a.offset);
        ASSERT_NE(a.handle, kNullHandle);
        live.push_back(a);
    }
    for (int i = 0; i < 300; i += 3) m.Free(live[static_cast<std::size_t>(i)].handle);
    Size expected = 0;
    bool previousFree = false;
    std::size_t allocations = 0;
    m.Walk([&](const RangeInfo& r) {
        EXPECT_EQ(r.offset, expected);
        EXPECT_GT(r.size, 0u);
        if (r.free) {
            EXPECT_FALSE(previousFree) << "free ranges are reported merged";
            EXPECT_EQ(r.handle, kNullHandle);
            EXPECT_EQ(r.kind, SuballocKind::kFree);
        } else {
            ++allocations;
            EXPECT_EQ(m.GetOffset(r.handle), r.offset);
            EXPECT_EQ(m.GetAllocationSize(r.handle), r.size);
            EXPECT_EQ(m.GetUserData(r.handle), r.userData);
            EXPECT_EQ(r.kind, SuballocKind::kBuffer);
        }
        previousFree = r.free;
        expected = r.offset + r.size;
    });
    EXPECT_EQ(expected, m.GetSize());
    EXPECT_EQ(allocations, m.GetAllocationCount());
    int other = 0;
    m.SetUserData(live[1].handle, &other);
    EXPECT_EQ(m.GetUserData(live[1].handle), &other);
}

TEST(TlsfMetadata, StatisticsMatchWalk) {
    TlsfMetadata m;
    m.Init(Config(10000, false, 1, 8, 8));
    const Alloc a = Allocate(m, 100);
    const Alloc b = Allocate(m, 300);
    const Alloc c = Allocate(m, 50);
    m.Free(b.handle);
    Statistics s;
    m.AddStatistics(s);
    EXPECT_EQ(s.blockCount, 1u);
    EXPECT_EQ(s.allocationCount, 2u);
    EXPECT_EQ(s.blockBytes, 10000u);
    EXPECT_EQ(s.allocationBytes, 150u);
    DetailedStatistics d;
    m.AddDetailedStatistics(d);
    EXPECT_EQ(d.statistics.blockCount, 1u);
    EXPECT_EQ(d.statistics.allocationCount, 2u);
    EXPECT_EQ(d.statistics.allocationBytes, 150u);
    EXPECT_EQ(d.allocationSizeMin, 50u);
    EXPECT_EQ(d.allocationSizeMax, 100u);
    // Free ranges: margin before a (8); a's after-margin + b's hole + c's before-margin (8+316+8);
    // c's after-margin + tail.
    EXPECT_EQ(d.unusedRangeCount, 3u);
    EXPECT_EQ(d.unusedRangeSizeMin, 8u);
    EXPECT_EQ(d.unusedRangeSizeMax, 10000u - 8 - 100 - 332 - 50);
    (void)a;
    (void)c;
}

TEST(TlsfMetadata, RequestAndCommitMatchAllocate) {
    TlsfMetadata m;
    m.Init(Config(1 << 16, false, 128));
    AllocationRequest r;
    ASSERT_TRUE(m.CreateRequest(100, 16, SuballocKind::kImageOptimal, 0, &r));
    EXPECT_EQ(r.size, 100u);
    int tag = 0;
    const AllocHandle h = m.Commit(r, SuballocKind::kImageOptimal, &tag);
    ASSERT_NE(h, kNullHandle);
    EXPECT_EQ(m.GetOffset(h), r.offset);
    EXPECT_EQ(m.GetAllocationSize(h), 128u);  // rounded to the granularity, as in VMA
    EXPECT_EQ(m.GetUserData(h), &tag);
    ExpectValid(m);
    m.Clear();
    EXPECT_TRUE(m.IsEmpty());
    EXPECT_EQ(m.GetSumFreeSize(), m.GetSize());
    ExpectValid(m);
}

// Drives two fresh virtual TLSF blocks of `blockSize` units with the same operations, one through
// Allocate and one through AllocateVirtual (VirtualBlock's call, which writes out Allocate's common
// case): a free of a random live allocation with probability freePercent %, otherwise the request
// `request(rng)` returns ({size, alignment}). Both must place every request identically (handle,
// offset, user data), fail the same requests (AllocateVirtual with offset kWholeSize) and stay
// valid.
template <typename Request>
void ExpectAllocateVirtualMatches(Size blockSize, std::uint32_t strategy, int steps, std::uint64_t seed,
                                  unsigned freePercent, Request request) {
    TlsfMetadata a, b;
    a.Init(Config(blockSize));
    b.Init(Config(blockSize));
    std::mt19937_64 rng(seed);
    std::vector<AllocHandle> live;
    for (int i = 0; i < steps; ++i) {
        SCOPED_TRACE("block " + std::to_string(blockSize) + " strategy " + std::to_string(strategy) + " step " +
                     std::to_string(i));
        if (!live.empty() && rng() % 100 < freePercent) {
            const std::size_t k = rng() % live.size();
            a.Free(live[k]);
            b.Free(live[k]);
            live[k] = live.back();
            live.pop_back();
            continue;
        }
        const auto [size, alignment] = request(rng);
        int tag = 0;
        Size offset = 0;
        const AllocHandle h = a.Allocate(size, alignment, SuballocKind::kUnknown, strategy, &tag, &offset);
        const TlsfMetadata::Placed p = b.AllocateVirtual(size, alignment, strategy, &tag);
        ASSERT_EQ(p.handle, h);
        if (h == kNullHandle) {
            ASSERT_EQ(p.offset, kWholeSize);
            continue;
        }
        ASSERT_EQ(p.offset, offset);
        ASSERT_EQ(offset % (alignment == 0 ? 1 : alignment), 0u);
        EXPECT_EQ(b.GetUserData(p.handle), &tag);
        live.push_back(h);
        if (i % 500 == 0) {
            ExpectValid(a);
            ExpectValid(b);
        }
    }
    ExpectValid(a);
    ExpectValid(b);
}

// Every strategy, alignments 0 to 256 and 3, sizes 0 to 40,000 (0 and oversized included), at any
// fill level; and a non-virtual layout takes the general path.
TEST(TlsfMetadata, AllocateVirtualMatchesAllocate) {
    const std::uint32_t strategies[] = {0u, kAllocStrategyMinTime, kAllocStrategyMinMemory, kAllocStrategyMinOffset};
    for (std::uint32_t strategy : strategies) {
        ExpectAllocateVirtualMatches(1 << 18, strategy, 6000, 11 + strategy, 40, [](std::mt19937_64& rng) {
            const Size size = rng() % 8 == 0 ? rng() % 40000 : rng() % 600;
            const Size alignment = rng() % 16 == 0 ? 3 : (rng() % 12 == 0 ? 0 : Size{1} << (rng() % 9));
            return std::pair{size, alignment};
        });
    }
    TlsfMetadata real;
    real.Init(Config(1 << 16, false, 1, 16, 16));
    const TlsfMetadata::Placed p = real.AllocateVirtual(100, 64, 0, nullptr);
    ASSERT_NE(p.handle, kNullHandle);
    EXPECT_EQ(p.offset, 64u);  // the front margin pushes it to the next multiple of 64
    ExpectValid(real);
}

// AllocateVirtual's fast path is limited to blocks below 2^48 units and alignments below 2^32 (so
// that size + alignment - 1 cannot wrap); beyond those it must still place exactly as Allocate.
// Sizes up to 2^40, alignments up to 2^40 (past the fast path's 2^32); now and then a request near
// the block's size with an alignment of 2^60-2^63, whose sure size (size + alignment - 1) passes
// 2^64.
TEST(TlsfMetadata, AllocateVirtualMatchesAllocateOnHugeBlocksAndAlignments) {
    for (const Size blockSize : {(Size{1} << 48) - 1, Size{1} << 48, Size{1} << 60, ~Size{0}}) {
        ExpectAllocateVirtualMatches(blockSize, 0, 400, blockSize % 1000, 33, [blockSize](std::mt19937_64& rng) {
            const bool edge = rng() % 10 == 0;
            const Size size = edge ? blockSize - rng() % 1000
                                   : (rng() % 4 == 0 ? Size{1} << (rng() % 40) : 0) + rng() % 5000 + 1;
            const Size alignment = Size{1} << (edge ? 60 + rng() % 4 : rng() % 41);
            return std::pair{size, alignment};
        });
    }
}

// For an aligned request, AllocateVirtual's default strategy takes the head of the first non-empty
// list at or above the exact list when it fits; when it does not, the search goes on behind it in
// the same list (as Allocate's probes do), not in the next list. Min-time goes straight to the
// sure list.
TEST(TlsfMetadata, AllocateVirtualSearchesBehindAHeadTooSmall) {
    for (const std::uint32_t strategy : {0u, std::uint32_t{kAllocStrategyMinTime}}) {
        SCOPED_TRACE("strategy " + std::to_string(strategy));
        TlsfMetadata general, fast;
        general.Init(Config(1 << 16));
        fast.Init(Config(1 << 16));
        // 605 and 600 units share a list ([592, 608) in virtual blocks); so does a request of 603.
        ASSERT_EQ(fast.ListIndex(600), fast.ListIndex(605));
        ASSERT_EQ(fast.ListIndex(603), fast.ListIndex(605));
        Size offsets[4] = {};
        AllocHandle handles[4] = {};
        const Size sizes[4] = {605, 100, 600, 100};  // the 100s keep the freed ones apart
        for (int i = 0; i < 4; ++i) {
            handles[i] = general.Allocate(sizes[i], 1, SuballocKind::kUnknown, 0, nullptr, &offsets[i]);
            const TlsfMetadata::Placed p = fast.AllocateVirtual(sizes[i], 1, 0, nullptr);
            ASSERT_EQ(p.handle, handles[i]);
            ASSERT_EQ(p.offset, offsets[i]);
        }
        // Free 605, then 600: 600 heads the list, 605 is behind it.
        for (TlsfMetadata* m : {&general, &fast}) {
            m->Free(handles[0]);
            m->Free(handles[2]);
        }
        // Aligned (to 2), so that the default strategy probes below the sure list.
        Size offset = 0;
        const AllocHandle h = general.Allocate(603, 2, SuballocKind::kUnknown, strategy, nullptr, &offset);
        const TlsfMetadata::Placed p = fast.AllocateVirtual(603, 2, strategy, nullptr);
        ASSERT_NE(h, kNullHandle);
        EXPECT_EQ(p.handle, h);
        EXPECT_EQ(p.offset, offset);
        if (strategy == 0) {
            EXPECT_EQ(offset, offsets[0]);  // the 605-unit node behind the head
        } else {
            EXPECT_EQ(offset, AlignUp(offsets[3] + 100, 2));  // the block's tail: min-time does not probe
        }
        ExpectValid(general);
        ExpectValid(fast);
    }
}

// ---- margins -----------------------------------------------------------------------------------

TEST(TlsfMargins, KeptAroundEveryAllocation) {
    const Size before = 16, after = 32;
    std::mt19937_64 rng(11);
    for (std::uint32_t flags : {0u, std::uint32_t{kAllocStrategyMinTime}, std::uint32_t{kAllocStrategyMinMemory},
                                std::uint32_t{kAllocStrategyMinOffset}}) {
        TlsfMetadata m;
        m.Init(Config(1 << 18, false, 1, before, after));
        std::vector<Alloc> live;
        for (int i = 0; i < 2000; ++i) {
            if (!live.empty() && rng() % 2 == 0) {
                const std::size_t k = rng() % live.size();
                m.Free(live[k].handle);
                live[k] = live.back();
                live.pop_back();
                continue;
            }
            Alloc a = Allocate(m, 1 + rng() % 700, Size{1} << (rng() % 8), flags);
            if (a.handle != kNullHandle) live.push_back(a);
        }
        ExpectValid(m);
        std::sort(live.begin(), live.end(), [](const Alloc& x, const Alloc& y) { return x.offset < y.offset; });
        ASSERT_FALSE(live.empty());
        EXPECT_GE(live.front().offset, before);
        EXPECT_LE(live.back().offset + live.back().size + after, m.GetSize());
        Size used = 0;
        for (std::size_t i = 0; i < live.size(); ++i) {
            used += live[i].size;
            if (i + 1 < live.size()) {
                ASSERT_GE(live[i + 1].offset, live[i].offset + live[i].size + after + before) << "flags " << flags;
            }
        }
        // Margins count as free space.
        EXPECT_EQ(m.GetSumFreeSize(), m.GetSize() - used);
        Size freeInWalk = 0;
        m.Walk([&](const RangeInfo& r) {
            if (r.free) freeInWalk += r.size;
        });
        EXPECT_EQ(freeInWalk, m.GetSumFreeSize());
    }
}

TEST(TlsfMargins, FreeingEverythingRestoresOneRange) {
    TlsfMetadata m;
    m.Init(Config(4096, false, 1, 8, 8));
    std::vector<Alloc> a;
    for (int i = 0; i < 20; ++i) a.push_back(Allocate(m, 100));
    for (std::size_t i = 0; i < a.size(); i += 2) m.Free(a[i].handle);
    for (std::size_t i = 1; i < a.size(); i += 2) m.Free(a[i].handle);
    ExpectValid(m);
    EXPECT_EQ(Ranges(m).size(), 1u);
    EXPECT_EQ(m.GetFreeRegionsCount(), 1u);
}

// ---- bufferImageGranularity --------------------------------------------------------------------

const SuballocKind kAllKinds[] = {SuballocKind::kUnknown, SuballocKind::kBuffer, SuballocKind::kImageUnknown,
                                  SuballocKind::kImageLinear, SuballocKind::kImageOptimal};

bool SharePage(const Alloc& first, const Alloc& second, Size g) {
    return (first.offset + first.size - 1) / g == second.offset / g;
}

class TlsfGranularity : public ::testing::TestWithParam<Size> {};

TEST_P(TlsfGranularity, EveryPairOfKinds) {
    const Size g = GetParam();
    for (SuballocKind first : kAllKinds) {
        for (SuballocKind second : kAllKinds) {
            TlsfMetadata m;
            m.Init(Config(64 * g, false, g));
            EXPECT_EQ(m.UsesPageTable(), g > 256);
            const Alloc a = Allocate(m, 100, 1, 0, first);
            const Alloc b = Allocate(m, 100, 1, 0, second);
            ASSERT_NE(a.handle, kNullHandle);
            ASSERT_NE(b.handle, kNullHandle);
            ASSERT_LT(a.offset, b.offset);
            const bool conflict = TlsfMetadata::KindsConflict(first, second);
            const std::string pair = std::string(SuballocKindName(first)) + " then " + SuballocKindName(second);
            if (conflict) {
                EXPECT_FALSE(SharePage(a, b, g)) << pair;
            } else {
                // Compatible kinds are packed: the second starts right after the first. With the
                // page table they share the page; with rounding only unrounded kinds do.
                EXPECT_EQ(b.offset, a.offset + a.size) << pair;
                const bool rounded = [&](SuballocKind k) {
                    return k == SuballocKind::kUnknown || k == SuballocKind::kImageUnknown ||
                           k == SuballocKind::kImageOptimal;
                }(first);
                if (g > 256 || !rounded) {
                    EXPECT_TRUE(SharePage(a, b, g)) << pair;
                }
            }
            ExpectValid(m);
            // The same with the second one placed into a hole in front of the first's page.
            m.Clear();
            const Alloc lead = Allocate(m, g / 2, 1, 0, SuballocKind::kBuffer);
            const Alloc c = Allocate(m, 100, 1, 0, first);
            m.Free(lead.handle);
            const Alloc d = Allocate(m, 50, 1, kAllocStrategyMinOffset, second);
            ASSERT_NE(d.handle, kNullHandle);
            if (TlsfMetadata::KindsConflict(first, second)) {
                const Alloc& lo = d.offset < c.offset ? d : c;
                const Alloc& hi = d.offset < c.offset ? c : d;
                EXPECT_FALSE(SharePage(lo, hi, g)) << pair << " (hole)";
            }
            ExpectValid(m);
        }
    }
}

INSTANTIATE_TEST_SUITE_P(RoundedAndPageTable, TlsfGranularity, ::testing::Values(Size{64}, Size{256}, Size{1024},
                                                                                  Size{65536}));

TEST(TlsfGranularityPages, BufferAndOptimalImageNeverShareTwoOptimalImagesMay) {
    const Size g = 1024;
    TlsfMetadata m;
    m.Init(Config(1 << 20, false, g));
    const Alloc img1 = Allocate(m, 100, 1, 0, SuballocKind::kImageOptimal);
    const Alloc img2 = Allocate(m, 100, 1, 0, SuballocKind::kImageOptimal);
    const Alloc buf = Allocate(m, 100, 1, 0, SuballocKind::kBuffer);
    EXPECT_EQ(img1.offset, 0u);
    EXPECT_EQ(img2.offset, 100u);  // two optimal images share page 0
    EXPECT_EQ(buf.offset, g);      // the buffer moves to the next page
    ExpectValid(m);
}

TEST(TlsfGranularityPages, EndPageConflictRejectsHole) {
    const Size g = 1024;
    TlsfMetadata m;
    m.Init(Config(1 << 20, false, g));
    const Alloc a = Allocate(m, 600, 1, 0, SuballocKind::kBuffer);
    const Alloc b = Allocate(m, 100, 1, 0, SuballocKind::kBuffer);  // at 600, page 0
    ASSERT_EQ(b.offset, 600u);
    m.Free(a.handle);  // hole [0, 600) in page 0, which b still touches
    for (std::uint32_t flags : {0u, std::uint32_t{kAllocStrategyMinTime}, std::uint32_t{kAllocStrategyMinMemory},
                                std::uint32_t{kAllocStrategyMinOffset}}) {
        const Alloc img = Allocate(m, 200, 1, flags, SuballocKind::kImageOptimal);
        ASSERT_NE(img.handle, kNullHandle);
        EXPECT_GE(img.offset, g) << "flags " << flags;
        ExpectValid(m);
        m.Free(img.handle);
        const Alloc buf = Allocate(m, 200, 1, flags, SuballocKind::kBuffer);
        EXPECT_LT(buf.offset, 600u) << "a buffer may use the hole";
        m.Free(buf.handle);
    }
}

TEST(TlsfGranularityPages, RandomMixStaysConflictFree) {
    std::mt19937_64 rng(99);
    for (Size g : {Size{128}, Size{4096}}) {
        TlsfMetadata m;
        m.Init(Config(1 << 22, false, g, 0, 0));
        std::vector<Alloc> live;
        for (int i = 0; i < 4000; ++i) {
            if (!live.empty() && rng() % 2 == 0) {
                const std::size_t k = rng() % live.size();
                m.Free(live[k].handle);
                live[k] = live.back();
                live.pop_back();
            } else {
                const SuballocKind kind = kAllKinds[rng() % 5];
                Alloc a = Allocate(m, 1 + rng() % 3000, Size{1} << (rng() % 7), rng() % 2 ? 0u : kAllocStrategyMinMemory,
                                   kind);
                if (a.handle != kNullHandle) live.push_back(a);
            }
            if (i % 500 == 0) ExpectValid(m);
        }
        ExpectValid(m);
        std::sort(live.begin(), live.end(), [](const Alloc& x, const Alloc& y) { return x.offset < y.offset; });
        for (std::size_t i = 0; i < live.size(); ++i) {
            for (std::size_t j = i + 1; j < live.size() && live[j].offset / g <= (live[i].offset + live[i].size - 1) / g;
                 ++j) {
                EXPECT_FALSE(TlsfMetadata::KindsConflict(live[i].kind, live[j].kind))
                    << "g " << g << ": " << SuballocKindName(live[i].kind) << " at " << live[i].offset << " and "
                    << SuballocKindName(live[j].kind) << " at " << live[j].offset;
            }
        }
    }
}

// ---- Validate catches damage -------------------------------------------------------------------

struct Damaged {
    TlsfMetadata m;
    std::vector<Alloc> a;
    Damaged(Size granularity = 1) {
        m.Init(Config(1 << 16, true, granularity));
        for (int i = 0; i < 10; ++i) a.push_back(Allocate(m, 100 + i, 1, 0, SuballocKind::kBuffer));
        m.Free(a[2].handle);
        m.Free(a[5].handle);
        std::string why;
        EXPECT_TRUE(m.Validate(&why)) << why;
    }
    void ExpectInvalid(const char* what) {
        std::string why;
        EXPECT_FALSE(m.Validate(&why)) << what;
        EXPECT_FALSE(why.empty()) << what;
    }
};

TEST(TlsfValidate, CatchesListBitmapDamage) {
    Damaged d;
    TlsfMetadataTestPeer::FlipFirstListBit(d.m);
    d.ExpectInvalid("list bitmap");
}

TEST(TlsfValidate, CatchesClassBitmapDamage) {
    Damaged d;
    TlsfMetadataTestPeer::FlipClassBit(d.m, 5);
    d.ExpectInvalid("class bitmap");
}

TEST(TlsfValidate, CatchesOverlap) {
    Damaged d;
    TlsfMetadataTestPeer::GrowNode(d.m, d.a[0].handle, 1);
    d.ExpectInvalid("overlap");
}

TEST(TlsfValidate, CatchesGap) {
    Damaged d;
    TlsfMetadataTestPeer::ShrinkNode(d.m, d.a[8].handle, 1);
    d.ExpectInvalid("gap");
}

TEST(TlsfValidate, CatchesBrokenPhysicalLink) {
    Damaged d;
    TlsfMetadataTestPeer::BreakPrevLink(d.m, d.a[4].handle);
    d.ExpectInvalid("prev link");
}

TEST(TlsfValidate, CatchesFreeNodeOutsideLists) {
    Damaged d;
    TlsfMetadataTestPeer::MarkFree(d.m, d.a[7].handle);
    d.ExpectInvalid("free node in no list");
}

TEST(TlsfValidate, CatchesCountMismatch) {
    Damaged d;
    TlsfMetadataTestPeer::CountOneMoreAllocation(d.m);
    d.ExpectInvalid("allocation count");
}

TEST(TlsfValidate, CatchesWrongList) {
    Damaged d;
    TlsfMetadataTestPeer::MoveToList(d.m, static_cast<std::uint32_t>(d.a[2].handle - 1), 3);
    d.ExpectInvalid("list index");
}

TEST(TlsfValidate, CatchesCellNamingAnotherList) {
    Damaged d;
    TlsfMetadataTestPeer::SetCellList(d.m, static_cast<std::uint32_t>(d.a[2].handle - 1), 3);
    d.ExpectInvalid("cell list");
}

TEST(TlsfValidate, CatchesPageTableDamage) {
    Damaged d(1024);
    TlsfMetadataTestPeer::BumpPageCount(d.m, 0);
    d.ExpectInvalid("page count");
    Damaged e(1024);
    TlsfMetadataTestPeer::SetPageKind(e.m, 0, SuballocKind::kImageOptimal);  // buffers live there
    e.ExpectInvalid("page kind");
}

}  // namespace
}  // namespace vma::core
