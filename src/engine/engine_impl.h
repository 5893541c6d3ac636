#pragma once
// What lies behind gemma4::Engine: the model, the engine-wide KV pool, the request queues and the
// step loop (continuous batching) that runs on its own thread.
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "engine/request_state.h"
#include "gemma4/engine.h"
#include "kv/kv_cache.h"
#include "model/forward.h"

namespace gemma4 {

class EngineImpl {
 public:
  EngineImpl(const std::filesystem::path& dir, const EngineOptions& options);
  ~EngineImpl();

  std::shared_ptr<RequestHandle> submit(Request request, TokenCallback callback);
  EngineStats stats() const;
  void shutdown();

  std::filesystem::path dir;
  EngineOptions options;
  std::shared_ptr<Model> model;
  Tokenizer tokenizer;
  GenerationDefaults defaults;
  std::vector<std::string> warnings;
  // The vocabulary trie for grammar masks, built on the first request with a grammar.
  std::shared_ptr<const TokenTrie> token_trie();
  // For tests: called on the engine thread after each step that ran a batch, with the requests
  // still running. Set it before the first submit() (which orders it before the thread reads it).
  std::function<void(std::span<const std::unique_ptr<RequestState>> running)> after_step;

 private:
  void check_pieces();
  void build_pool();
  void validate(const Request& r) const;

  // Step loop (engine thread).
  void loop();
  bool step();  // false when there was nothing to do
  void take_incoming();
  void drop_cancelled();
  void admit();
  struct Planned {
    RequestState* request;
    int64_t tokens;
    bool wants_logits;
    int64_t drafts = 0;  // a decode row followed by this many draft rows (all want logits)
  };
  std::vector<Planned> plan_batch();
  int64_t plan_drafts(RequestState& r, int64_t budget);
  int64_t drafts_within_sliding_block(const RequestState& r) const;
  void make_room(std::vector<Planned>& plan);
  bool short_of_blocks(const std::vector<Planned>& plan) const;
  void publish_stats();
  void preempt(RequestState& victim);
  void run_batch(const std::vector<Planned>& plan);
  // forward_batch's contract for segments_, on options.forward_backend (backend_step.cpp).
  void forward_on_backend();
  // Samples and handles one token; `finished` when the request is finished.
  struct Sampled {
    int32_t token;
    bool finished;
  };
  Sampled on_sampled(RequestState& r, std::span<float> logits);
  bool apply_grammar(RequestState& r, std::span<float> logits);
  bool check_drafts(RequestState& r, int64_t drafts, float* first_row);
  void keep_accepted_rows(RequestState& r);
  void finish(std::unique_ptr<RequestState> r, FinishReason reason, const EngineError* error = nullptr);
  void finish_running(RequestState* r, FinishReason reason, const EngineError* error = nullptr);
  void fail_all(const EngineError& error);

  std::unique_ptr<KvPool> pool_;
  int64_t max_blocks_per_request_[2] = {0, 0};
  ForwardScratch scratch_;
  std::vector<float> logits_;
  std::vector<int32_t> logprob_scratch_;
  std::vector<ForwardSegment> segments_;
  std::vector<BackendSegment> backend_segments_;
  std::vector<std::vector<int32_t>> backend_tables_;  // [segment][group]: block tables

  // Shared with submitters.
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::unique_ptr<RequestState>> incoming_;
  bool stopping_ = false;
  int64_t waiting_count_ = 0;  // incoming + waiting, for the queue limit
  EngineStats stats_;
  uint64_t next_id_ = 1;

  // Engine thread only.
  std::deque<std::unique_ptr<RequestState>> waiting_;
  std::vector<std::unique_ptr<RequestState>> running_;
  int64_t admissions_ = 0;
  std::thread thread_;
  std::once_flag trie_once_;
  std::shared_ptr<const TokenTrie> trie_;
};

}  // namespace gemma4
