// Randomized property test over every algorithm CreateMetadata offers, each with the operation
// mixes its semantics allow. After every operation a shadow model checks that no two live
// allocations (with their margins) overlap, that every offset is aligned, that allocations stay
// inside the block and that no two allocations of conflicting kinds share a
// bufferImageGranularity page; every 4096 operations (and at the end) Metadata::Validate() runs.
//
// For TLSF in the virtual layout (what VirtualBlock uses), a twin block takes the same operations
// through VirtualBlock's calls, AllocateVirtual and FreeVirtual, and must place every request
// exactly as Allocate does.
//
// Seed: a fixed default, overridable with the environment variable VMA_PROPERTY_SEED. Every
// failure message carries the seed and the operation index.
#include <gtest/gtest.h>

#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "metadata.h"
#include "tlsf_metadata.h"

namespace vma::core {
namespace {

constexpr std::uint64_t kDefaultSeed = 0x5EED2026;
constexpr std::size_t kOperations = 1'000'000;
constexpr std::size_t kValidateEvery = 4096;
constexpr Size kBlockSize = Size{1} << 24;

std::uint64_t Seed() {
    const char* env = std::getenv("VMA_PROPERTY_SEED");
    return env && *env ? std::strtoull(env, nullptr, 0) : kDefaultSeed;
}

// How allocations and frees are mixed. Linear semantics decide which mixes are legal there.
enum class Mix {
    kRandom,       // allocate or free a random live allocation (TLSF, buddy)
    kFreeAtOnce,   // allocate until full (or a random count), then free everything
    kStack,        // free only the newest allocation (LIFO)
    kDoubleStack,  // lower and upper (kAllocUpperAddress) stacks, each freed LIFO
    kRingBuffer,   // free only the oldest allocation (FIFO)
};

struct Case {
    std::string name;
    Algorithm algorithm;
    std::uint32_t flags;
    Mix mix;
    Size granularity;
    Size marginBefore;
    Size marginAfter;
    bool isVirtual;
};

std::string PrintCase(const ::testing::TestParamInfo<Case>& info) { return info.param.name; }

struct Live {
    AllocHandle handle;
    Size offset;
    Size size;
    SuballocKind kind;
    bool upper;
};

class Shadow {
public:
    Shadow(const Case& c, std::uint64_t seed) : c_(c), seed_(seed) {}

    // Returns an empty string or what is wrong with placing `a` among the live allocations.
    std::string Insert(const Live& a, Size alignment, std::size_t op) {
        std::ostringstream err;
        err << "seed " << seed_ << " op " << op << ": allocation at " << a.offset << " size " << a.size << ": ";
        if (a.size == 0) return err.str() + "zero size";
        if (a.offset % alignment != 0) return err.str() + "not aligned to " + std::to_string(alignment);
        if (a.offset < c_.marginBefore || a.offset + a.size + c_.marginAfter > kBlockSize) {
            return err.str() + "outside the block or its margins";
        }
        auto next = byOffset_.lower_bound(a.offset);
        if (next != byOffset_.end() && a.offset + a.size + c_.marginAfter + c_.marginBefore > next->first) {
            return err.str() + "overlaps (or margin-touches) the allocation at " + std::to_string(next->first);
        }
        if (next != byOffset_.begin()) {
            auto prev = std::prev(next);
            if (prev->first + prev->second.size + c_.marginAfter + c_.marginBefore > a.offset) {
                return err.str() + "overlaps (or margin-touches) the allocation at " + std::to_string(prev->first);
            }
        }
        if (c_.granularity > 1) {
            const Size g = c_.granularity;
            // Neighbours that share a page with a, on both sides.
            for (auto it = next; it != byOffset_.end() && it->first / g <= (a.offset + a.size - 1) / g; ++it) {
                if (TlsfMetadata::KindsConflict(a.kind, it->second.kind)) {
                    return err.str() + "shares a granularity page with a conflicting allocation at " +
                           std::to_string(it->first);
                }
            }
            for (auto it = next; it != byOffset_.begin();) {
                --it;
                if ((it->first + it->second.size - 1) / g < a.offset / g) break;
                if (TlsfMetadata::KindsConflict(a.kind, it->second.kind)) {
                    return err.str() + "shares a granularity page with a conflicting allocation at " +
                           std::to_string(it->first);
                }
            }
        }
        byOffset_.emplace(a.offset, a);
        return {};
    }
    void Erase(const Live& a) { byOffset_.erase(a.offset); }
    void Clear() { byOffset_.clear(); }
    std::size_t size() const { return byOffset_.size(); }

private:
    const Case& c_;
    std::uint64_t seed_;
    std::map<Size, Live> byOffset_;
};

class PropertyTest : public ::testing::TestWithParam<Case> {};

TEST_P(PropertyTest, RandomOperationsKeepEveryInvariant) {
    const Case& c = GetParam();
    const std::uint64_t seed = Seed();
    std::unique_ptr<Metadata> m = CreateMetadata(c.algorithm);
    ASSERT_NE(m, nullptr) << "CreateMetadata returned nullptr for " << c.name << ": the algorithm is missing";
    MetadataConfig config;
    config.size = kBlockSize;
    config.bufferImageGranularity = c.granularity;
    config.marginBefore = c.marginBefore;
    config.marginAfter = c.marginAfter;
    config.isVirtual = c.isVirtual;
    m->Init(config);
    // VirtualBlock's fast path, in lock-step (the virtual layout: isVirtual, no margins, no
    // granularity).
    std::unique_ptr<TlsfMetadata> twin;
    if (c.algorithm == Algorithm::kTlsf && c.isVirtual && c.granularity == 1 && c.marginBefore == 0 &&
        c.marginAfter == 0) {
        twin = std::make_unique<TlsfMetadata>();
        twin->Init(config);
    }

    std::mt19937_64 rng(seed ^ std::hash<std::string>{}(c.name));
    Shadow shadow(c, seed);
    std::deque<Live> live;  // allocation order (front = oldest); random frees swap-remove
    std::vector<Live> upper;  // double stack: the upper stack
    std::size_t allocations = 0, failures = 0;
    std::size_t burst = 0;  // free-at-once: allocations left before freeing everything
    bool draining = false;

    auto validate = [&](std::size_t op) {
        std::string why;
        ASSERT_TRUE(m->Validate(&why)) << "seed " << seed << " op " << op << " case " << c.name << ": " << why;
        ASSERT_EQ(m->GetAllocationCount(), live.size() + upper.size()) << "seed " << seed << " op " << op;
        if (twin) {
            ASSERT_TRUE(twin->Validate(&why)) << "seed " << seed << " op " << op << " twin: " << why;
            ASSERT_EQ(twin->GetAllocationCount(), live.size()) << "seed " << seed << " op " << op;
        }
    };
    auto release = [&](AllocHandle h) {
        m->Free(h);
        if (twin) twin->FreeVirtual(h);
    };
    auto allocate = [&](std::size_t op, bool upperAddress) -> bool {
        // Sizes: mostly small, some large; alignments 1 .. 1024; every kind.
        const Size size = rng() % 4 == 0 ? 1 + rng() % 65536 : 1 + rng() % 512;
        const Size alignment = Size{1} << (rng() % 11);
        const auto kind = static_cast<SuballocKind>(1 + rng() % 5);
        Size offset = kWholeSize;
        const std::uint32_t flags = c.flags | (upperAddress ? std::uint32_t{kAllocUpperAddress} : 0u);
        const AllocHandle h = m->Allocate(size, alignment, kind, flags, nullptr, &offset);
        if (twin) {
            const TlsfMetadata::Placed p = twin->AllocateVirtual(size, alignment, flags, nullptr);
            if (p.handle != h || p.offset != (h != kNullHandle ? offset : kWholeSize)) {
                ADD_FAILURE() << "seed " << seed << " op " << op << " case " << c.name << ": AllocateVirtual("
                              << size << ", " << alignment << ") gave handle " << p.handle << " offset " << p.offset
                              << ", Allocate handle " << h << " offset " << offset;
                return false;
            }
        }
        if (h == kNullHandle) {
            ++failures;
            return false;
        }
        ++allocations;
        Live a{h, offset, m->GetAllocationSize(h), kind, upperAddress};
        EXPECT_EQ(m->GetOffset(h), offset) << "seed " << seed << " op " << op;
        EXPECT_GE(a.size, size) << "seed " << seed << " op " << op;
        const std::string err = shadow.Insert(a, alignment, op);
        EXPECT_TRUE(err.empty()) << c.name << ": " << err;
        if (!err.empty()) return false;
        (upperAddress ? upper.push_back(a) : live.push_back(a));
        return true;
    };
    auto freeOne = [&](std::deque<Live>::iterator it) {
        release(it->handle);
        shadow.Erase(*it);
        live.erase(it);
    };

    for (std::size_t op = 0; op < kOperations && !::testing::Test::HasFailure(); ++op) {
        switch (c.mix) {
            case Mix::kRandom: {
                const bool grow = live.size() < 64 || (live.size() < 4000 && rng() % 100 < 52);
                if (grow) {
                    if (!allocate(op, false) && !live.empty()) freeOne(live.begin() + rng() % live.size());
                } else {
                    const std::size_t k = rng() % live.size();
                    std::swap(live[k], live.back());  // O(1) removal from the middle
                    freeOne(live.end() - 1);
                }
                if (rng() % 200000 == 0) {  // now and then everything at once
                    m->Clear();
                    if (twin) twin->Clear();
                    shadow.Clear();
                    live.clear();
                }
                break;
            }
            case Mix::kFreeAtOnce: {
                if (!draining) {
                    if (burst == 0) burst = 1 + rng() % 3000;
                    if (!allocate(op, false) || --burst == 0) draining = true;
                } else if (!live.empty()) {
                    // Any order: free-at-once reuses space only once the block is empty.
                    const std::size_t k = rng() % live.size();
                    std::swap(live[k], live.back());
                    freeOne(live.end() - 1);
                } else {
                    draining = false;
                    if (!m->IsEmpty()) ADD_FAILURE() << "seed " << seed << " op " << op << ": not empty";
                }
                break;
            }
            case Mix::kStack: {
                if (live.empty() || (live.size() < 3000 && rng() % 100 < 55)) {
                    if (!allocate(op, false) && !live.empty()) freeOne(live.end() - 1);
                } else {
                    freeOne(live.end() - 1);
                }
                break;
            }
            case Mix::kDoubleStack: {
                const bool side = rng() % 2 == 1;  // true: upper stack
                const std::size_t count = live.size() + upper.size();
                if (count == 0 || (count < 3000 && rng() % 100 < 55)) {
                    if (!allocate(op, side)) {
                        if (!upper.empty() && (live.empty() || side)) {
                            release(upper.back().handle);
                            shadow.Erase(upper.back());
                            upper.pop_back();
                        } else if (!live.empty()) {
                            freeOne(live.end() - 1);
                        }
                    }
                } else if (side && !upper.empty()) {
                    release(upper.back().handle);
                    shadow.Erase(upper.back());
                    upper.pop_back();
                } else if (!live.empty()) {
                    freeOne(live.end() - 1);
                } else {
                    release(upper.back().handle);
                    shadow.Erase(upper.back());
                    upper.pop_back();
                }
                break;
            }
            case Mix::kRingBuffer: {
                if (live.empty() || (live.size() < 3000 && rng() % 100 < 55)) {
                    if (!allocate(op, false) && !live.empty()) freeOne(live.begin());
                } else {
                    freeOne(live.begin());
                }
                break;
            }
        }
        if (op % kValidateEvery == kValidateEvery - 1) validate(op);
    }
    validate(kOperations);
    EXPECT_GT(allocations, kOperations / 4) << c.name << ": too few successful allocations to mean anything";
    RecordProperty("allocations", std::to_string(allocations));
    RecordProperty("failures", std::to_string(failures));
}

std::vector<Case> AllCases() {
    const std::uint32_t minTime = kAllocStrategyMinTime, minMemory = kAllocStrategyMinMemory;
    std::vector<Case> cases;
    for (auto [name, flags] : {std::pair<const char*, std::uint32_t>{"default", 0u}, {"min_time", minTime},
                               {"min_memory", minMemory}}) {
        cases.push_back({std::string("tlsf_") + name + "_virtual", Algorithm::kTlsf, flags, Mix::kRandom, 1, 0, 0, true});
        cases.push_back({std::string("tlsf_") + name + "_g1024_margins", Algorithm::kTlsf, flags, Mix::kRandom, 1024,
                         16, 32, false});
        cases.push_back({std::string("tlsf_") + name + "_g128", Algorithm::kTlsf, flags, Mix::kRandom, 128, 0, 0, false});
    }
    cases.push_back({"linear_free_at_once", Algorithm::kLinear, 0, Mix::kFreeAtOnce, 1, 0, 0, true});
    cases.push_back({"linear_stack_g1024_margins", Algorithm::kLinear, 0, Mix::kStack, 1024, 16, 32, false});
    cases.push_back({"linear_double_stack", Algorithm::kLinear, 0, Mix::kDoubleStack, 1, 0, 0, true});
    cases.push_back({"linear_double_stack_g1024", Algorithm::kLinear, 0, Mix::kDoubleStack, 1024, 0, 16, false});
    cases.push_back({"linear_ring_buffer", Algorithm::kLinear, 0, Mix::kRingBuffer, 1, 0, 0, true});
    cases.push_back({"linear_ring_buffer_g1024_margins", Algorithm::kLinear, 0, Mix::kRingBuffer, 1024, 8, 8, false});
    cases.push_back({"buddy_default", Algorithm::kBuddy, 0, Mix::kRandom, 1, 0, 0, true});
    cases.push_back({"buddy_g1024", Algorithm::kBuddy, 0, Mix::kRandom, 1024, 0, 0, false});  // buddy: no margins
    return cases;
}

INSTANTIATE_TEST_SUITE_P(AllAlgorithms, PropertyTest, ::testing::ValuesIn(AllCases()), PrintCase);

}  // namespace
}  // namespace vma::core
