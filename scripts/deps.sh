# Sourced by test.sh and run.sh: installs the Debian bookworm packages the project needs, if any
# are missing. Needs root (or sudo) only when something has to be installed.
VMA_PACKAGES=(
  cmake make g++ pkg-config python3 clang libclang-rt-14-dev
  libvulkan-dev vulkan-validationlayers-dev vulkan-validationlayers mesa-vulkan-drivers vulkan-tools
  libspdlog-dev libfmt-dev nlohmann-json3-dev python3-pil googletest libgtest-dev libbenchmark-dev
  glslang-tools xvfb
  gfxreconstruct ffmpeg gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-bad glmark2-x11
)

vma_install_deps() {
  local missing=()
  for p in "${VMA_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "Installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}
