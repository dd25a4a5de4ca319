#include "extensions.h"

#include <cstring>
#include <iterator>

#include "vk_local.h"

namespace vma::layer {
namespace {

struct KnownExtension {
    const char* name;
    bool carriesMemory;
    const char* carriers;
};

// Every device extension of the registry the layer was built against (generated).
const KnownExtension kRegistry[] = {
#include "device_extensions.inc"
};

// Extensions that carry VkDeviceMemory and are translated by the layer (see intercepts.h).
const char* const kTranslated[] = {
    "VK_KHR_bind_memory2",                  // BindBufferMemory2KHR / BindImageMemory2KHR
    "VK_KHR_buffer_device_address",         // GetDeviceMemoryOpaqueCaptureAddressKHR
    "VK_KHR_external_memory_fd",            // GetMemoryFdKHR (exported memory is never pooled)
    "VK_EXT_pageable_device_local_memory",  // SetDeviceMemoryPriorityEXT
    VK_KHR_MAP_MEMORY_2_EXTENSION_NAME,     // MapMemory2KHR / UnmapMemory2KHR (newer than the headers)
    "VK_NV_ray_tracing",                    // BindAccelerationStructureMemoryNV
    "VK_KHR_video_queue",                   // BindVideoSessionMemoryKHR
};

// Extensions newer than the 1.3.239 registry that were checked against vk.xml 1.4.359 (the
// complete list of commands and structs that carry a VkDeviceMemory there is in
// reference/layer-interface.md §2.1–2.2): none of these carries one. The NVIDIA driver 580 offers
// them; an extension missing here stays hidden until it is reviewed.
const char* const kReviewedNewer[] = {
    "VK_EXT_attachment_feedback_loop_dynamic_state", "VK_EXT_depth_bias_control",
    "VK_EXT_depth_clamp_control", "VK_EXT_device_generated_commands",
    "VK_EXT_dynamic_rendering_unused_attachments", "VK_EXT_host_image_copy",
    "VK_EXT_image_sliced_view_of_3d", "VK_EXT_legacy_vertex_attributes",
    "VK_EXT_nested_command_buffer", "VK_EXT_pipeline_library_group_handles",
    "VK_EXT_present_mode_fifo_latest_ready", "VK_EXT_shader_object",
    "VK_EXT_shader_replicated_composites", "VK_EXT_vertex_attribute_robustness",
    "VK_KHR_calibrated_timestamps", "VK_KHR_compute_shader_derivatives",
    "VK_KHR_cooperative_matrix", "VK_KHR_depth_clamp_zero_one",
    "VK_KHR_dynamic_rendering_local_read", "VK_KHR_index_type_uint8",
    "VK_KHR_line_rasterization", "VK_KHR_load_store_op_none",
    "VK_KHR_maintenance5", "VK_KHR_maintenance6",  // maintenance6: VkBindMemoryStatus, passed on in binds
    "VK_KHR_maintenance7", "VK_KHR_maintenance8",
    "VK_KHR_pipeline_binary", "VK_KHR_shader_bfloat16",
    "VK_KHR_shader_expect_assume", "VK_KHR_shader_float_controls2",
    "VK_KHR_shader_maximal_reconvergence", "VK_KHR_shader_quad_control",
    "VK_KHR_shader_relaxed_extended_instruction", "VK_KHR_shader_subgroup_rotate",
    "VK_KHR_vertex_attribute_divisor", "VK_KHR_video_maintenance1",
    "VK_KHR_video_maintenance2", "VK_NV_cooperative_matrix2",
    "VK_NV_cooperative_vector", "VK_NV_descriptor_pool_overallocation",
    "VK_NV_device_generated_commands_compute", "VK_NV_disk_cache_utils",
    "VK_NV_extended_sparse_address_space", "VK_NV_internal_nvpresent",
    "VK_NV_low_latency", "VK_NV_low_latency2",
    "VK_NV_present_metering", "VK_NV_raw_access_chains",
    "VK_NV_shader_atomic_float16_vector",
};

// Extensions that carry no VkDeviceMemory handle by type but report or depend on the identity of
// the driver's memory objects, which the app never sees.
const char* const kHidden[] = {
    "VK_EXT_device_memory_report",  // reports driver memory objects (the layer's blocks)
    "VK_EXT_map_memory_placed",     // a slice cannot be placed at an app-chosen address
};

bool InList(const char* name, const char* const* list, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        if (std::strcmp(name, list[i]) == 0) return true;
    }
    return false;
}

}  // namespace

bool IsDeviceExtensionAllowed(const char* name) {
    if (InList(name, kHidden, std::size(kHidden))) return false;
    if (InList(name, kTranslated, std::size(kTranslated))) return true;
    if (InList(name, kReviewedNewer, std::size(kReviewedNewer))) return true;
    for (const auto& e : kRegistry) {
        if (std::strcmp(name, e.name) == 0) return !e.carriesMemory;
    }
    return false;  // unknown to this build: it may carry VkDeviceMemory
}

}  // namespace vma::layer
