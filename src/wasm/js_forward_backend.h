#pragma once
// The WebGPU backend of the wasm build, seen from C++: a ForwardBackend whose steps run in
// JavaScript (web/webgpu/src/engine_host.js) on the thread that hosts the module. The engine
// thread posts each step there and waits for its logits; the host thread never blocks, so the
// GPU's promises resolve while the engine waits.
#include <cstdint>
#include <memory>

#include "gemma4/forward_backend.h"

namespace gemma4::wasm {

// Steps go to Module.gemma4Gpu(gpu, kind, words), which returns a promise; `gpu` names the JS
// engine that holds the weights (several engines may share one module); `vocab` is the model's
// vocabulary size (the width of a logits row).
std::shared_ptr<ForwardBackend> make_js_forward_backend(int gpu, int64_t vocab);

}  // namespace gemma4::wasm
