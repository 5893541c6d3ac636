// The engine's step loop (continuous batching, after vLLM's scheduler and llama.cpp's server
// slots): between steps requests join (admission, with the prefix cache attached) and leave
// (finished, cancelled, preempted). Each step runs one forward pass over the next token of every
// decoding request plus prefill chunks of the others, under a per-step token budget, so a long
// prompt never stalls running decodes. When KV blocks run out, the most recently admitted request
// is preempted: its blocks are released (kept in the prefix cache) and it is recomputed later.
//
// Speculative decoding by prompt lookup: a decoding request may feed guessed tokens after its
// last sampled one (drafts, see prompt_lookup.h). The model's logits for every row check them in
// order with the sampler's rejection rule; tokens are emitted one by one through on_sampled, as
// plain decoding would emit them, and the KV rows of rejected drafts are dropped again. Every
// token of such a request is sampled by that rule against the draft its own tokens propose, fed or
// not, so how many drafts a step could afford (budget, free blocks) never changes an answer.
#include <algorithm>
#include <limits>

#include "engine/engine_impl.h"
#include "engine/logprobs.h"
#include "engine/model_impl.h"
#include "engine/prompt_lookup.h"
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
  if (after_step) after_step(running_);
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
  // Drafts only from what every decode row left: a guess never delays another request's token.
  for (Planned& p : plan) {
    p.drafts = plan_drafts(*p.request, budget);
    p.tokens += p.drafts;
    budget -= p.drafts;
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

// Draft tokens for a decoding request this step (their rows are left in r.draft_rows): never more
// than the budget, the tokens the request may still generate after the row it samples anyway, or
// the context holds.
int64_t EngineImpl::plan_drafts(RequestState& r, int64_t budget) {
  const int64_t context = static_cast<int64_t>(r.context.size());
  const int64_t limit = std::min({static_cast<int64_t>(r.draft_limit), budget,
                                  r.request.max_tokens - r.result.completion_tokens - 1,
                                  options.max_context - context, drafts_within_sliding_block(r)});
  if (limit <= 0) return 0;
  std::vector<int32_t> drafts = propose_drafts(r.context, limit);
  if (drafts.empty()) return 0;
  r.draft_rows.assign(1, r.context.back());
  r.draft_rows.insert(r.draft_rows.end(), drafts.begin(), drafts.end());
  return static_cast<int64_t>(drafts.size());
}

// Committing rows releases the sliding blocks that left the window of the last row; when drafts are
// rejected the window moves back, and truncate() must take those blocks back from the prefix cache.
// Without a prefix cache they are gone, so the drafts stop short of moving the window's first
// block (the rule of KvSequence::release_sliding_before: a query at p reads from p - window + 1).
int64_t EngineImpl::drafts_within_sliding_block(const RequestState& r) const {
  if (options.prefix_cache || !pool_->has_group(AttentionType::Sliding)) return std::numeric_limits<int64_t>::max();
  const int64_t block = pool_->block_size();
  // Window start of the query after the decode row, which is always kept.
  const int64_t start = r.fed() + 2 - model->config().sliding_window;
  return start < 0 ? block - 1 - start : block - 1 - start % block;
}

// A request with drafts needs one more block per group: truncating its rejected rows back into a
// block that became full (and so entered the prefix cache) copies that block first.
bool EngineImpl::short_of_blocks(const std::vector<Planned>& plan) const {
  for (AttentionType g : kGroups) {
    int64_t need = 0;
    for (const Planned& p : plan)
      need += p.request->sequence->blocks_needed(g, p.tokens) + (p.drafts > 0 && pool_->has_group(g) ? 1 : 0);
    if (need > pool_->available_blocks(g)) return true;
  }
  return false;
}

// Preempts the most recently admitted requests until the planned rows have their blocks; drafts
// are given up first, they are only guesses.
void EngineImpl::make_room(std::vector<Planned>& plan) {
  if (short_of_blocks(plan)) {
    for (Planned& p : plan) {
      p.tokens -= p.drafts;
      p.drafts = 0;
    }
  }
  while (true) {
    if (!short_of_blocks(plan)) return;
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
    const auto rows = p.drafts > 0 ? std::span<const int32_t>(r.draft_rows)
                                   : std::span<const int32_t>(r.context).subspan(r.fed(), p.tokens);
    segments_.push_back({r.sequence.get(), rows, p.wants_logits ? 1 + p.drafts : 0});
  }
  if (options.forward_backend) forward_on_backend();
  else forward_batch(*m.weights, segments_, ForwardOptions{}, logits_, scratch_, *m.pool);
  const int64_t V = model->config().vocab_size;
  int64_t row = 0;
  std::vector<RequestState*> finished;
  for (const Planned& p : plan) {
    if (!p.wants_logits) continue;
    float* first = logits_.data() + row * V;
    row += 1 + p.drafts;
    const bool done = p.drafts > 0 ? check_drafts(*p.request, p.drafts, first)
                                   : on_sampled(*p.request, std::span<float>(first, V)).finished;
    if (done) finished.push_back(p.request);
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++stats_.steps;
  }
  for (RequestState* r : finished) finish_running(r, r->result.finish);
}

// Row i of a speculative step predicts the token after draft i (row 0: after the last sampled
// token). Each row's token goes through on_sampled exactly as in plain decoding, so stop tokens,
// stop strings, max_tokens and the callback end the request at the same token; checking stops at
// the first token that differs from its draft (that token is the model's own, and still counts).
// Returns true when the request is finished.
bool EngineImpl::check_drafts(RequestState& r, int64_t drafts, float* first_row) {
  const int64_t V = model->config().vocab_size;
  int64_t accepted = 0;
  bool finished = false;
  for (int64_t i = 0; i <= drafts && !finished; ++i) {
    const Sampled s = on_sampled(r, std::span<float>(first_row + i * V, V));
    finished = s.finished;
    if (i == drafts || s.token != r.draft_rows[static_cast<size_t>(i + 1)]) break;
    ++accepted;
  }
  r.result.drafted_tokens += drafts;
  r.result.accepted_drafts += accepted;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.drafted_tokens += drafts;
    stats_.accepted_drafts += accepted;
  }
  if (!finished) keep_accepted_rows(r);
  return finished;
}

// The KV sequence keeps the rows of the last sampled token and the accepted drafts; the newly
// sampled token is pending, as after a plain decode step. Should truncate() be unable to restore
// the sliding window, the request recomputes its tail from the prefix cache (a local preemption).
void EngineImpl::keep_accepted_rows(RequestState& r) {
  const int64_t keep = static_cast<int64_t>(r.context.size()) - 1;
  if (r.sequence->length() <= keep || r.sequence->truncate(keep)) return;
  r.sequence->clear();
  r.sequence->attach_cached_prefix(r.context, keep);
}

// Bans every token the request's grammar does not accept next (the stop tokens unless its value is
// complete). The mask depends on the request's own state only, so batching cannot change it.
// False when no token is left.
bool EngineImpl::apply_grammar(RequestState& r, std::span<float> logits) {
  if (r.allowed.size() != logits.size()) r.allowed.assign(logits.size(), false);
  r.grammar->fill_mask(r.allowed, r.stop_ids);
  const std::span<const uint64_t> words = r.allowed.words();
  constexpr float kBanned = -std::numeric_limits<float>::infinity();
  bool any = false;
  for (size_t w = 0; w < words.size(); ++w) {
    const size_t base = w * 64, n = std::min<size_t>(64, logits.size() - base);
    if (words[w] == 0) {
      std::fill_n(logits.begin() + static_cast<std::ptrdiff_t>(base), n, kBanned);
      continue;
    }
    any = true;
    if (words[w] == ~uint64_t{0}) continue;
    for (size_t b = 0; b < n; ++b)
      if (!((words[w] >> b) & 1)) logits[base + b] = kBanned;
  }
  return any;
}

// Samples the next token of a request from its logits row and handles it; `finished` is set when
// the request is finished (the reason is left in result.finish). With drafts on, the token is
// drawn by the speculative rule against the draft the context proposes (the same distribution;
// in a speculative step that draft is the row's own, as propose_drafts chains next_draft).
EngineImpl::Sampled EngineImpl::on_sampled(RequestState& r, std::span<float> logits) {
  const auto now = EngineClock::now();
  TokenEvent event;
  std::vector<float> raw;
  if (r.request.logprobs) raw.assign(logits.begin(), logits.end());
  if (r.grammar && !apply_grammar(r, logits)) {
    r.result.finish = FinishReason::Stop;  // the value is complete and no stop token exists
    return {-1, true};
  }
  const bool speculative = r.draft_limit > 0 && !r.sampler.params().greedy();  // greedy: the argmax either way
  const std::optional<int32_t> draft = speculative ? next_draft(r.context) : std::nullopt;
  const int32_t token = draft ? r.sampler.sample_given_draft(logits, r.context, *draft)
                              : r.sampler.sample(logits, r.context);
  if (r.result.completion_tokens == 0) r.first_token = now;
  r.last_token = now;
  if (std::find(r.stop_ids.begin(), r.stop_ids.end(), token) != r.stop_ids.end()) {
    r.result.stop_token = token;
    r.result.finish = FinishReason::Stop;
    return {token, true};
  }
  if (r.grammar && !r.grammar->accept_token(token))
    throw Error("internal: the grammar rejected a token its own mask allowed");
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
    return {token, true};
  }
  if (matched.stopped) {
    r.result.stop_string = r.stops.matched_stop();
    r.result.finish = FinishReason::Stop;
    return {token, true};
  }
  if (r.result.completion_tokens >= r.request.max_tokens ||
      static_cast<int64_t>(r.context.size()) > options.max_context) {
    r.result.finish = FinishReason::Length;  // max_tokens reached or the context is full
    return {token, true};
  }
  return {token, false};
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
