#pragma once
// A scripted Backend for HTTP tests: one token per byte (id = byte + 10), every answer is
// `reply` generated at `token_delay` per token, cancellation honoured between tokens.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "server/backend.h"

namespace gemma4::server::testing {

class FakeHandle final : public RequestHandle {
 public:
  FakeHandle(uint64_t id, Request request, TokenCallback callback, std::string reply,
             std::chrono::milliseconds delay, std::atomic<int>& running, std::atomic<int>& cancelled)
      : id_(id), running_(running), cancelled_count_(cancelled) {
    ++running_;
    thread_ = std::thread([this, request = std::move(request), callback = std::move(callback), reply, delay] {
      RequestResult result;
      result.prompt_tokens = static_cast<int64_t>(request.prompt.size());
      result.finish = FinishReason::Stop;
      for (const char c : reply) {
        if (cancel_requested_) break;
        if (static_cast<int64_t>(result.tokens.size()) >= request.max_tokens) {
          result.finish = FinishReason::Length;
          break;
        }
        std::this_thread::sleep_for(delay);
        TokenEvent e;
        e.token = static_cast<unsigned char>(c) + 10;
        e.text = std::string(1, c);
        e.logprob = -0.25f;
        if (request.logprobs) result.logprobs.push_back(e);
        result.tokens.push_back(e.token);
        result.text += e.text;
        if (callback && !callback(e)) cancel_requested_ = true;
      }
      if (cancel_requested_) {
        result.finish = FinishReason::Cancelled;
        ++cancelled_count_;
      }
      result.completion_tokens = static_cast<int64_t>(result.tokens.size());
      --running_;
      std::lock_guard lock(mutex_);
      result_ = std::move(result);
      done_ = true;
      done_cv_.notify_all();
    });
  }
  ~FakeHandle() override { thread_.join(); }

  uint64_t id() const override { return id_; }
  void cancel() override { cancel_requested_ = true; }
  RequestResult wait() override {
    std::unique_lock lock(mutex_);
    done_cv_.wait(lock, [&] { return done_; });
    return result_;
  }
  bool done() const override {
    std::lock_guard lock(mutex_);
    return done_;
  }

 private:
  uint64_t id_;
  std::atomic<int>& running_;
  std::atomic<int>& cancelled_count_;
  std::atomic<bool> cancel_requested_{false};
  mutable std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  RequestResult result_;
  std::thread thread_;
};

class FakeBackend final : public Backend {
 public:
  std::string reply = "Hello world";
  std::chrono::milliseconds token_delay{1};
  std::atomic<bool> overloaded{false};
  std::atomic<int> running{0}, cancelled{0};

  FakeBackend() {
    defaults_.sampling.temperature = 1.0f;
    defaults_.bos_token_id = 2;
  }
  ~FakeBackend() override {
    std::lock_guard lock(mutex_);
    for (auto& h : handles_) h->cancel();
  }

  std::string model_name() const override { return "fake-model"; }
  int64_t max_context() const override { return 256; }
  int32_t vocab_size() const override { return 266; }
  const GenerationDefaults& defaults() const override { return defaults_; }
  std::string render_chat(const nlohmann::json& messages, const nlohmann::json&, const ChatOptions&) const override {
    std::string text;
    for (const auto& m : messages) text += m["role"].get<std::string>() + ": " + m.value("content", "") + "\n";
    return text;
  }
  std::vector<int32_t> encode(std::string_view text) const override {
    std::vector<int32_t> ids;
    for (const char c : text) ids.push_back(static_cast<unsigned char>(c) + 10);
    return ids;
  }
  // One token per byte, so the count is known before encoding; like the real tokenizer it gives
  // no ids past the budget.
  BoundedEncoding encode_at_most(std::string_view text, size_t max_tokens) const override {
    BoundedEncoding result;
    result.at_least = text.size();
    result.exceeded = text.size() > max_tokens;
    if (!result.exceeded) result.ids = encode(text);
    return result;
  }
  std::string decode(std::span<const int32_t> ids) const override {
    std::string text;
    for (const int32_t id : ids) text += id >= 10 ? std::string(1, static_cast<char>(id - 10)) : "<" + std::to_string(id) + ">";
    return text;
  }
  std::shared_ptr<RequestHandle> submit(Request request, TokenCallback on_token) override {
    if (overloaded) throw EngineError(ErrorKind::Overloaded, "the queue is full");
    auto handle = std::make_shared<FakeHandle>(++next_id_, std::move(request), std::move(on_token), reply, token_delay,
                                               running, cancelled);
    std::lock_guard lock(mutex_);
    handles_.push_back(handle);
    return handle;
  }
  EngineStats stats() const override {
    EngineStats s;
    s.running = running;
    return s;
  }
  // Cancels everything, as Engine::shutdown does.
  void shutdown() override {
    std::lock_guard lock(mutex_);
    for (auto& h : handles_) h->cancel();
  }

 private:
  GenerationDefaults defaults_;
  std::atomic<uint64_t> next_id_{0};
  std::mutex mutex_;
  std::vector<std::shared_ptr<RequestHandle>> handles_;
};

}  // namespace gemma4::server::testing
