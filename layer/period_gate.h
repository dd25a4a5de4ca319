// PeriodGate: lets work through at most once per period, across threads, without a lock.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace vma::layer {

// Take() is true for the one caller that comes first at or after the end of the last period (and
// for the first caller ever). Relaxed atomics: it only spaces work out in time, it orders nothing.
class PeriodGate {
public:
    explicit PeriodGate(std::uint64_t periodNs) : periodNs_(periodNs) {}
    bool Take() {
        const auto now = static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
                .count());
        std::uint64_t next = next_.load(std::memory_order_relaxed);
        return now >= next && next_.compare_exchange_strong(next, now + periodNs_, std::memory_order_relaxed);
    }

private:
    const std::uint64_t periodNs_;
    std::atomic<std::uint64_t> next_{0};
};

}  // namespace vma::layer
