// The engine's step loop (continuous batching, after vLLM's scheduler and llama.cpp's server
// slots): between steps requests join (admission, with the prefix cache attached) and leave
// (finished, cancelled, preempted). Each step runs one forward pass over the next token of every
// decoding request plus prefill chunks of the others, under a per-step token budget, so a long
// prompt never stalls running decodes. When KV blocks run out, the most recently admitted request
// is preempted: its blocks are released (kept in the prefix cache) and it is recomputed later.
#include <algorithm>

#include "engine/engine_impl.h"
#include "engine/logprobs.h"
#include "engine/model_impl.h"
#include "gemma4/error.h"

namespace gemma4 {

namespace {

double seconds_between(EngineClock::time_point a, EngineClock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

constexpr AttentionType kGroups[2] = {AttentionType::Sliding, AttentionType::Full};

}  // namespace

void EngineImpl::loop() {
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !incoming_.empty() || !waiting_.empty() || !running_.empty(); });
      if (stopping_) break;
    }
    try {
      step();
    } catch (const std::exception& e) {
      fail_all(EngineError(ErrorKind::ModelError, e.what()));
    }
  }
  take_incoming();
  const EngineError stopped(ErrorKind::ShuttingDown, "the engine shut down before the request finished");
  fail_all(stopped);
  while (!waiting_.empty()) {
    auto r = std::move(waiting_.front());
    waiting_.pop_front();
    finish(std::move(r), FinishReason::Cancelled, &stopped);
  }
}

bool EngineImpl::step() {
  take_incoming();
  drop_cancelled();
  admit();
  publish_stats();
  if (running_.empty()) return false;
  std::vector<Planned> plan = plan_batch();
  make_room(plan);
  if (!plan.empty()) run_batch(plan);
  publish_stats();
  return true;
}

void EngineImpl::take_incoming() {
  std::lock_guard<std::mutex> lock(mutex_);
  while (!incoming_.empty()) {
    waiting_.push_back(std::move(incoming_.front()));
    incoming_.pop_front();
  }
}

void EngineImpl::publish_stats() {
  std::lock_guard<std::mutex> lock(mutex_);
  waiting_count_ = static_cast<int64_t>(incoming_.size() + waiting_.size());
  stats_.waiting = waiting_count_;
  stats_.running = static_cast<int64_t>(running_.size());
  int64_t available = 0, cached = 0;
  for (AttentionType g : kGroups) {
    available += pool_->available_blocks(g);
    cached += pool_->cached_blocks(g);
  }
  stats_.kv_blocks_used = stats_.kv_blocks_total - available;
  stats_.kv_blocks_cached = cached;
}

void EngineImpl::drop_cancelled() {
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if ((*it)->completion->cancel_requested()) {
      auto r = std::move(*it);
      it = waiting_.erase(it);
      finish(std::move(r), FinishReason::Cancelled);
    } else {
      ++it;
    }
  }
  std::vector<RequestState*> cancelled;
  for (auto& r : running_)
    if (r->completion->cancel_requested()) cancelled.push_back(r.get());
  for (RequestState* r : cancelled) finish_running(r, FinishReason::Cancelled);
}

// Admits waiting requests in order while there is a free slot and KV room for their prompt
// (after the prefix cache), keeping one block per group free for each running request.
void EngineImpl::admit() {
  const ModelConfig& c = model->config();
  while (!waiting_.empty() && static_cast<int>(running_.size()) < options.parallel) {
    RequestState& r = *waiting_.front();
    if (r.request.max_tokens == 0) {
      auto done = std::move(waiting_.front());
      waiting_.pop_front();
      finish(std::move(done), FinishReason::Length);
      continue;
    }
    auto seq = std::make_unique<KvSequence>(*pool_, options.max_context, c.sliding_window);
    const int64_t cached = seq->attach_cached_prefix(r.context, static_cast<int64_t>(r.context.size()) - 1);
    const int64_t rest = static_cast<int64_t>(r.context.size()) - cached;
    const int64_t headroom = static_cast<int64_t>(running_.size());
    bool fits = true;
    for (int g = 0; g < 2; ++g) {
      const int64_t need = std::min(seq->blocks_needed(kGroups[g], rest), max_blocks_per_request_[g]);
      if (need > 0 && need + headroom > pool_->available_blocks(kGroups[g])) fits = false;
    }
    if (!fits && !running_.empty()) {
      seq->clear();
      break;  // wait until running requests free blocks
    }
    if (r.first_admission) {
      r.result.cached_tokens = cached;
      r.first_admission = false;
      std::lock_guard<std::mutex> lock(mutex_);
      stats_.prefix_cache_queries += 1;
      stats_.prefix_cache_hits += cached > 0;
      stats_.cached_prompt_tokens += cached;
      stats_.prompt_tokens += r.result.prompt_tokens;
    }
    r.sequence = std::move(seq);
    r.admitted_order = ++admissions_;
    r.admitted = EngineClock::now();
    running_.push_back(std::move(waiting_.front()));
    waiting_.pop_front();
  }
}

// Decoding requests first (one token each), then prefill chunks: every prefilling request gets a
// fair share of what is left (so a short prompt is not queued behind a long one), and what the
// shares leave unused goes to them in admission order. Chunk boundaries do not change any row's
// arithmetic, so this costs nothing in reproducibility.
std::vector<EngineImpl::Planned> EngineImpl::plan_batch() {
  std::vector<Planned> plan;
  int64_t budget = options.step_tokens;
  for (auto& r : running_) {
    if (budget == 0) break;
    if (r->pending() == 1) {
      plan.push_back({r.get(), 1, true});
      --budget;
    }
  }
  std::vector<RequestState*> prefilling;
  for (auto& r : running_)
    if (r->pending() > 1) prefilling.push_back(r.get());
  std::sort(prefilling.begin(), prefilling.end(),
            [](const RequestState* a, const RequestState* b) { return a->admitted_order < b->admitted_order; });
  if (prefilling.empty() || budget == 0) return plan;
  const int64_t share = std::max<int64_t>(1, budget / static_cast<int64_t>(prefilling.size()));
  std::vector<int64_t> take(prefilling.size(), 0);
  for (size_t i = 0; i < prefilling.size() && budget > 0; ++i) {
    take[i] = std::min({prefilling[i]->pending(), share, budget});
    budget -= take[i];
  }
  for (size_t i = 0; i < prefilling.size() && budget > 0; ++i) {
    const int64_t extra = std::min(prefilling[i]->pending() - take[i], budget);
    take[i] += extra;
    budget -= extra;
  }
  for (size_t i = 0; i < prefilling.size(); ++i)
    if (take[i] > 0) plan.push_back({prefilling[i], take[i], take[i] == prefilling[i]->pending()});
  return plan;
}

// Preempts the most recently admitted requests until the planned rows have their blocks.
void EngineImpl::make_room(std::vector<Planned>& plan) {
  while (true) {
    bool short_of_blocks = false;
    for (AttentionType g : kGroups) {
      int64_t need = 0;
      for (const Planned& p : plan) need += p.request->sequence->blocks_needed(g, p.tokens);
      if (need > pool_->available_blocks(g)) short_of_blocks = true;
    }
    if (!short_of_blocks) return;
    auto victim = std::max_element(running_.begin(), running_.end(), [](const auto& a, const auto& b) {
      return a->admitted_order < b->admitted_order;
    });
    if (running_.size() == 1)
      throw Error("the KV pool cannot hold the rows of a single request (pool too small for the context size)");
    RequestState* v = victim->get();
    plan.erase(std::remove_if(plan.begin(), plan.end(), [&](const Planned& p) { return p.request == v; }), plan.end());
    preempt(*v);
  }
}

void EngineImpl::preempt(RequestState& victim) {
  victim.sequence->clear();
  victim.sequence.reset();
  ++victim.result.preemptions;
  auto it = std::find_if(running_.begin(), running_.end(), [&](const auto& r) { return r.get() == &victim; });
  waiting_.push_front(std::move(*it));
  running_.erase(it);
  std::lock_guard<std::mutex> lock(mutex_);
  ++stats_.preemptions;
}

void EngineImpl::run_batch(const std::vector<Planned>& plan) {
  const ModelImpl& m = model->impl();
  segments_.clear();
  for (const Planned& p : plan) {
    RequestState& r = *p.request;
    segments_.push_back({r.sequence.get(), std::span<const int32_t>(r.context).subspan(r.fed(), p.tokens),
                         p.wants_logits ? 1 : 0});
  }
  forward_batch(*m.weights, segments_, ForwardOptions{}, logits_, scratch_, *m.pool);
  const int64_t V = model->config().vocab_size;
  int64_t row = 0;
  std::vector<RequestState*> finished;
  for (const Planned& p : plan) {
    if (!p.wants_logits) continue;
    std::span<float> logits(logits_.data() + row * V, V);
    ++row;
    if (on_sampled(*p.request, logits)) finished.push_back(p.request);
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++stats_.steps;
  }
  for (RequestState* r : finished) finish_running(r, r->result.finish);
}

// Samples the next token of a request from its logits row; returns true when it is finished
// (the reason is left in result.finish).
bool EngineImpl::on_sampled(RequestState& r, std::span<float> logits) {
  const auto now = EngineClock::now();
  TokenEvent event;
  std::vector<float> raw;
  if (r.request.logprobs) raw.assign(logits.begin(), logits.end());
  const int32_t token = r.sampler.sample(logits, r.context);
  if (r.result.completion_tokens == 0) r.first_token = now;
  r.last_token = now;
  if (std::find(r.stop_ids.begin(), r.stop_ids.end(), token) != r.stop_ids.end()) {
    r.result.stop_token = token;
    r.result.finish = FinishReason::Stop;
    return true;
  }
  r.context.push_back(token);
  r.result.tokens.push_back(token);
  ++r.result.completion_tokens;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++stats_.generated_tokens;
  }
  auto matched = r.stops.push(r.decoder.push(token));
  event.token = token;
  event.text = std::move(matched.emit);
  if (r.request.logprobs) {
    token_logprobs(raw, token, r.request.top_logprobs, event, logprob_scratch_);
    r.result.logprobs.push_back(TokenEvent{token, {}, event.logprob, event.top});
  }
  r.result.text += event.text;
  bool keep_going = true;
  if (r.callback) {
    try {
      keep_going = r.callback(event);
    } catch (...) {
      keep_going = false;
    }
  }
  if (!keep_going) {
    r.result.finish = FinishReason::Cancelled;
    return true;
  }
  if (matched.stopped) {
    r.result.stop_string = r.stops.matched_stop();
    r.result.finish = FinishReason::Stop;
    return true;
  }
  if (r.result.completion_tokens >= r.request.max_tokens ||
      static_cast<int64_t>(r.context.size()) > options.max_context) {
    r.result.finish = FinishReason::Length;  // max_tokens reached or the context is full
    return true;
  }
  return false;
}

void EngineImpl::finish_running(RequestState* r, FinishReason reason, const EngineError* error) {
  auto it = std::find_if(running_.begin(), running_.end(), [&](const auto& p) { return p.get() == r; });
  if (it == running_.end()) return;
  auto owned = std::move(*it);
  running_.erase(it);
  finish(std::move(owned), reason, error);
}

void EngineImpl::finish(std::unique_ptr<RequestState> r, FinishReason reason, const EngineError* error) {
  if (reason != FinishReason::Cancelled && !r->stops.stopped()) {
    std::string rest = r->stops.push(r->decoder.flush()).emit;
    rest += r->stops.flush();
    if (!rest.empty()) {
      r->result.text += rest;
      if (r->callback) {
        try {
          r->callback(TokenEvent{-1, rest, 0.0f, {}});
        } catch (...) {
        }
      }
    }
  }
  if (r->sequence) r->sequence->clear();
  r->sequence.reset();
  const auto now = EngineClock::now();
  RequestResult& res = r->result;
  res.finish = reason;
  if (error) res.error = *error;
  const bool admitted = !r->first_admission;
  const bool generated = res.completion_tokens > 0 || res.stop_token >= 0;
  res.total_seconds = seconds_between(r->submitted, now);
  if (admitted) res.queue_seconds = seconds_between(r->submitted, r->admitted);
  if (generated) {
    res.ttft_seconds = seconds_between(r->submitted, r->first_token);
    res.prefill_seconds = admitted ? seconds_between(r->admitted, r->first_token) : 0.0;
    res.decode_seconds = seconds_between(r->first_token, now);
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++stats_.requests_finished;
    if (reason == FinishReason::Cancelled) ++stats_.requests_cancelled;
  }
  publish_stats();  // before the submitter wakes: its blocks are back
  r->completion->complete(std::move(res));
}

void EngineImpl::fail_all(const EngineError& error) {
  while (!running_.empty()) finish_running(running_.back().get(), FinishReason::Cancelled, &error);
}

}  // namespace gemma4
