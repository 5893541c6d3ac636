// Each call to JavaScript is a list of int32 words in the heap:
//
//   kind 1, allocate_kv: [block_size, sliding_blocks, full_blocks]
//   kind 2, forward:     [copies, (group, src, dst, slots) x copies,
//                         segments, (start, tokens, logits_count, sliding_len, full_len) x segments,
//                         then per segment its tokens, sliding table, full table]
//
// (group: 0 sliding, 1 full; table entries -1 where released.) The JS side copies the words out at
// once, resolves with the logits (kind 2), writes them where `out` points and calls
// gemma4_gpu_done; a rejection comes back as its "Name: message" text.
#include "wasm/js_forward_backend.h"

#include <emscripten.h>
#include <emscripten/threading.h>

#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <string>

#include "gemma4/error.h"

namespace {

struct GpuCall {
  int gpu = 0, kind = 0;
  const int32_t* words = nullptr;
  int count = 0;
  float* out = nullptr;
  int out_floats = 0;
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  std::string error;
};

}  // namespace

// Runs on the host thread: hands the call to Module.gemma4Gpu and arranges for the answer.
EM_JS(void, gemma4_js_gpu_call, (GpuCall* call, int gpu, int kind, const int32_t* words, int count, float* out, int outFloats), {
  const fail = (e) => {
    const text = (e && e.name ? e.name + ": " : "") + String(e && e.message !== undefined ? e.message : e);
    const bytes = lengthBytesUTF8(text) + 1;
    const p = _malloc(bytes);
    stringToUTF8(text, p, bytes);
    _gemma4_gpu_done(call, p);
  };
  try {
    const host = Module["gemma4Gpu"];
    if (!host) throw new Error("this module has no WebGPU host (Module.gemma4Gpu)");
    const copy = HEAP32.slice(words >> 2, (words >> 2) + count);
    Promise.resolve(host(gpu, kind, copy)).then((result) => {
      if (outFloats > 0) {
        if (!result || result.length !== outFloats)
          throw new Error("the WebGPU step returned " + (result ? result.length : 0) + " logits, expected " + outFloats);
        HEAPF32.set(result, out >> 2);
      }
      _gemma4_gpu_done(call, 0);
    }).catch(fail);
  } catch (e) {
    fail(e);
  }
});

extern "C" {

EMSCRIPTEN_KEEPALIVE void gemma4_gpu_done(GpuCall* call, char* error) {
  std::lock_guard<std::mutex> lock(call->mutex);
  if (error) {
    call->error = error;
    std::free(error);
  }
  call->done = true;
  call->done_cv.notify_all();
}

}  // extern "C"

namespace {

void start_on_host(GpuCall* call) {
  gemma4_js_gpu_call(call, call->gpu, call->kind, call->words, call->count, call->out, call->out_floats);
}

class JsForwardBackend : public gemma4::ForwardBackend {
 public:
  JsForwardBackend(int gpu, int64_t vocab) : gpu_(gpu), vocab_(vocab) {}

  void allocate_kv(const gemma4::KvGeometry& g) override {
    words_ = {g.block_size, static_cast<int32_t>(g.sliding_blocks), static_cast<int32_t>(g.full_blocks)};
    call(1, nullptr, 0);
  }

  void forward(std::span<const gemma4::KvBlockCopy> copies, std::span<const gemma4::BackendSegment> segments,
               std::vector<float>& logits) override {
    words_.clear();
    words_.push_back(static_cast<int32_t>(copies.size()));
    for (const auto& c : copies)
      words_.insert(words_.end(), {c.group == gemma4::AttentionType::Full ? 1 : 0, c.src, c.dst, c.slots});
    words_.push_back(static_cast<int32_t>(segments.size()));
    int64_t rows = 0;
    for (const auto& s : segments) {
      words_.insert(words_.end(), {static_cast<int32_t>(s.start), static_cast<int32_t>(s.tokens.size()),
                                   static_cast<int32_t>(s.logits_count), static_cast<int32_t>(s.sliding_table.size()),
                                   static_cast<int32_t>(s.full_table.size())});
      rows += s.logits_count;
    }
    for (const auto& s : segments) {
      words_.insert(words_.end(), s.tokens.begin(), s.tokens.end());
      words_.insert(words_.end(), s.sliding_table.begin(), s.sliding_table.end());
      words_.insert(words_.end(), s.full_table.begin(), s.full_table.end());
    }
    if (rows == 0) {
      logits.clear();
      call(2, nullptr, 0);
      return;
    }
    logits.resize(static_cast<size_t>(rows * vocab_));
    call(2, logits.data(), static_cast<int>(logits.size()));
  }

 private:
  void call(int kind, float* out, int out_floats) {
    GpuCall c;
    c.gpu = gpu_;
    c.kind = kind;
    c.words = words_.data();
    c.count = static_cast<int>(words_.size());
    c.out = out;
    c.out_floats = out_floats;
    emscripten_async_run_in_main_runtime_thread(EM_FUNC_SIG_VI, start_on_host, &c);
    std::unique_lock<std::mutex> lock(c.mutex);
    c.done_cv.wait(lock, [&] { return c.done; });
    if (!c.error.empty()) throw gemma4::Error("WebGPU: " + c.error);
  }

  int gpu_;
  int64_t vocab_;
  std::vector<int32_t> words_;
};

}  // namespace

namespace gemma4::wasm {

std::shared_ptr<ForwardBackend> make_js_forward_backend(int gpu, int64_t vocab) {
  return std::make_shared<JsForwardBackend>(gpu, vocab);
}

}  // namespace gemma4::wasm
