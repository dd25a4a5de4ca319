// Fault switches for the test build of the layer (libVkLayer_vma_faults.so, built with
// VMA_TEST_FAULTS). They let the tests prove that they notice a broken layer. In the shipped
// library every switch is a compile-time false.
#pragma once

#ifdef VMA_TEST_FAULTS
#include <cstdlib>
#include <cstring>
#endif

namespace vma::layer {

enum class Fault {
    kSkipBindSliceOffset,  // binds forget to add the slice offset: resources land at the block start
};

inline bool FaultEnabled(Fault fault) {
#ifdef VMA_TEST_FAULTS
    // VMA_TEST_FAULT=skip_bind_offset
    static const char* value = std::getenv("VMA_TEST_FAULT");
    if (!value) return false;
    switch (fault) {
        case Fault::kSkipBindSliceOffset: return std::strcmp(value, "skip_bind_offset") == 0;
    }
    return false;
#else
    (void)fault;
    return false;
#endif
}

}  // namespace vma::layer
