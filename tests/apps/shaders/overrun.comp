#version 450
// Writes `count` words through a raw device address: the planted GPU overrun of app_overrun
// (buffer device addresses are not bounds-checked, as on any real GPU without robustness).
#extension GL_EXT_buffer_reference : require
#extension GL_EXT_buffer_reference_uvec2 : require
layout(local_size_x = 64) in;
layout(buffer_reference, std430, buffer_reference_align = 4) buffer Words { uint w[]; };
layout(push_constant) uniform Push {
    uvec2 address;
    uint count;
    uint value;
} push;
void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i < push.count) Words(push.address).w[i] = push.value + i;
}
