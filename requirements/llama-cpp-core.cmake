# Build only the libraries llama-cpp-python loads (libllama, libggml*), not llama.cpp's
# "common" helpers: llama-cpp-python forces LLAMA_BUILD_COMMON on, but ships neither it
# nor cpp-httplib, and they are half of the compile time (measured: docs/install.md).
# CMake includes this file right after every project() call (CMAKE_PROJECT_INCLUDE), so
# it runs after llama-cpp-python's FORCE and before llama.cpp reads the option.
set(LLAMA_BUILD_COMMON OFF CACHE BOOL "llama: build common utils library" FORCE)
