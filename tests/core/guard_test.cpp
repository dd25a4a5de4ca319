// Guard: the magic value's bytes, exact corruption ranges, front vs back margins, fill patterns.
#include "guard.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace vma::core {
namespace {

TEST(GuardTest, MagicIsLittleEndianWords) {
    unsigned char buffer[12];
    std::memset(buffer, 0, sizeof(buffer));
    WriteMagic(buffer, 8);
    const unsigned char expected[12] = {0x66, 0xE6, 0x84, 0x7F, 0x66, 0xE6, 0x84, 0x7F, 0, 0, 0, 0};
    EXPECT_EQ(std::memcmp(buffer, expected, sizeof(buffer)), 0);
    EXPECT_EQ(kCorruptionMagic, 0x7F84E666u);
}

TEST(GuardTest, MagicAtUnalignedAddress) {
    std::vector<unsigned char> buffer(64, 0);
    WriteMagic(buffer.data() + 3, 40);
    EXPECT_EQ(buffer[2], 0);
    EXPECT_EQ(buffer[3], 0x66);
    EXPECT_EQ(buffer[42], 0x7F);
    EXPECT_EQ(buffer[43], 0);
    EXPECT_FALSE(CheckMagic(buffer.data() + 3, 40).has_value());
}

TEST(GuardTest, CleanMagicChecksClean) {
    std::vector<unsigned char> buffer(256);
    WriteMagic(buffer.data(), buffer.size());
    EXPECT_FALSE(CheckMagic(buffer.data(), buffer.size()).has_value());
    EXPECT_FALSE(CheckMagic(buffer.data(), 0).has_value());
}

TEST(GuardTest, SingleCorruptedByteIsFoundExactly) {
    for (Size at = 0; at < 32; ++at) {
        std::vector<unsigned char> buffer(32);
        WriteMagic(buffer.data(), buffer.size());
        buffer[at] ^= 0x01;
        std::optional<CorruptRange> bad = CheckMagic(buffer.data(), buffer.size());
        ASSERT_TRUE(bad.has_value()) << at;
        EXPECT_EQ(bad->first, at);
        EXPECT_EQ(bad->last, at);
    }
}

TEST(GuardTest, CorruptedRunIsReportedFirstToLast) {
    std::vector<unsigned char> buffer(64);
    WriteMagic(buffer.data(), buffer.size());
    std::memset(buffer.data() + 5, 0, 9);  // bytes 5..13
    std::optional<CorruptRange> bad = CheckMagic(buffer.data(), buffer.size());
    ASSERT_TRUE(bad.has_value());
    EXPECT_EQ(bad->first, 5u);
    EXPECT_EQ(bad->last, 13u);

    // Two separate hits: the range spans both, intact bytes in between included.
    WriteMagic(buffer.data(), buffer.size());
    buffer[3] = 0;
    buffer[50] = 0;
    bad = CheckMagic(buffer.data(), buffer.size());
    ASSERT_TRUE(bad.has_value());
    EXPECT_EQ(bad->first, 3u);
    EXPECT_EQ(bad->last, 50u);
}

TEST(GuardTest, FillPatterns) {
    EXPECT_EQ(kFillCreated, 0xDC);
    EXPECT_EQ(kFillDestroyed, 0xEF);
    std::vector<unsigned char> buffer(100, 0);
    Fill(buffer.data() + 1, 98, kFillCreated);
    EXPECT_EQ(buffer[0], 0);
    EXPECT_EQ(buffer[99], 0);
    for (std::size_t i = 1; i < 99; ++i) EXPECT_EQ(buffer[i], 0xDC) << i;
    Fill(buffer.data(), buffer.size(), kFillDestroyed);
    for (unsigned char byte : buffer) EXPECT_EQ(byte, 0xEF);
}

// A block-like buffer: 16-byte front margin, a 37-byte allocation (so the back margin is not
// word-aligned), a 16-byte back margin, and sentinel bytes around all of it.
struct Guarded {
    static constexpr Size kSlack = 8;
    MarginLayout layout{16, 16};
    Size size = 37;
    std::vector<unsigned char> buffer;
    unsigned char* allocation = nullptr;

    Guarded() : buffer(kSlack + 16 + 37 + 16 + kSlack, 0xAA) {
        allocation = buffer.data() + kSlack + 16;
        WriteMargins(allocation, size, layout);
    }
    std::optional<MarginReport> Check() const { return CheckMargins(allocation, size, layout); }
};

TEST(GuardTest, MarginsCleanAndAllocationWritesAreNotCorruption) {
    Guarded g;
    EXPECT_FALSE(g.Check().has_value());
    Fill(g.allocation, g.size, kFillCreated);  // the whole allocation, and not one byte more
    EXPECT_FALSE(g.Check().has_value());
    EXPECT_EQ(g.allocation[-1], 0x7F);  // last byte of the front margin's last word
    EXPECT_EQ(g.allocation[-16], 0x66);
    EXPECT_EQ(g.allocation[37], 0x66);
    EXPECT_EQ(g.allocation[52], 0x7F);
    EXPECT_EQ(g.allocation[-17], 0xAA);  // nothing outside the margins
    EXPECT_EQ(g.allocation[53], 0xAA);
}

TEST(GuardTest, FrontMarginDamageIsReportedBeforeTheAllocation) {
    for (std::int64_t at : {-1, -16, -7}) {
        Guarded g;
        g.allocation[at] = 0;
        std::optional<MarginReport> report = g.Check();
        ASSERT_TRUE(report.has_value());
        EXPECT_TRUE(report->before);
        EXPECT_EQ(report->firstRelative, at);
        EXPECT_EQ(report->lastRelative, at);
    }
    Guarded g;  // an underrun of 5 bytes
    std::memset(g.allocation - 5, 0, 5);
    std::optional<MarginReport> report = g.Check();
    ASSERT_TRUE(report.has_value());
    EXPECT_TRUE(report->before);
    EXPECT_EQ(report->firstRelative, -5);
    EXPECT_EQ(report->lastRelative, -1);
}

TEST(GuardTest, BackMarginDamageIsReportedAfterTheAllocation) {
    for (std::int64_t at : {37, 52, 40}) {
        Guarded g;
        g.allocation[at] = 0;
        std::optional<MarginReport> report = g.Check();
        ASSERT_TRUE(report.has_value());
        EXPECT_FALSE(report->before);
        EXPECT_EQ(report->firstRelative, at);
        EXPECT_EQ(report->lastRelative, at);
    }
    Guarded g;  // a 3-byte overrun
    std::memset(g.allocation, 0x11, 40);
    std::optional<MarginReport> report = g.Check();
    ASSERT_TRUE(report.has_value());
    EXPECT_FALSE(report->before);
    EXPECT_EQ(report->firstRelative, 37);
    EXPECT_EQ(report->lastRelative, 39);
}

TEST(GuardTest, FrontMarginIsReportedFirstWhenBothAreDamaged) {
    Guarded g;
    g.allocation[-3] = 0;
    g.allocation[45] = 0;
    std::optional<MarginReport> report = g.Check();
    ASSERT_TRUE(report.has_value());
    EXPECT_TRUE(report->before);
    EXPECT_EQ(report->firstRelative, -3);
}

TEST(GuardTest, MarginSmallerThanFourWritesNothing) {
    std::vector<unsigned char> buffer(32, 0xAA);
    unsigned char* allocation = buffer.data() + 8;
    const MarginLayout layout{3, 2};
    WriteMargins(allocation, 10, layout);
    for (unsigned char byte : buffer) EXPECT_EQ(byte, 0xAA);
    EXPECT_FALSE(CheckMargins(allocation, 10, layout).has_value());  // nothing written, nothing checked
    WriteMagic(buffer.data(), 3);
    for (unsigned char byte : buffer) EXPECT_EQ(byte, 0xAA);
    EXPECT_FALSE(CheckMagic(buffer.data(), 3).has_value());
}

TEST(GuardTest, PartialWordsOfAMarginStayUntouched) {
    std::vector<unsigned char> buffer(64, 0xAA);
    unsigned char* allocation = buffer.data() + 16;
    const MarginLayout layout{6, 7};  // one whole word each, packed against the allocation
    WriteMargins(allocation, 8, layout);
    EXPECT_EQ(allocation[-6], 0xAA);
    EXPECT_EQ(allocation[-5], 0xAA);
    EXPECT_EQ(allocation[-4], 0x66);
    EXPECT_EQ(allocation[8], 0x66);
    EXPECT_EQ(allocation[11], 0x7F);
    EXPECT_EQ(allocation[12], 0xAA);
    allocation[-5] = 0;  // outside the guarded words: not seen
    EXPECT_FALSE(CheckMargins(allocation, 8, layout).has_value());
    allocation[10] = 0;
    std::optional<MarginReport> report = CheckMargins(allocation, 8, layout);
    ASSERT_TRUE(report.has_value());
    EXPECT_FALSE(report->before);
    EXPECT_EQ(report->firstRelative, 10);
    EXPECT_EQ(report->lastRelative, 10);
}

}  // namespace
}  // namespace vma::core
