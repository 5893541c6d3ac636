#include "engine/request_state.h"

namespace gemma4 {

RequestResult RequestCompletion::wait() {
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait(lock, [&] { return done_; });
  return result_;
}

bool RequestCompletion::done() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return done_;
}

void RequestCompletion::complete(RequestResult result) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    result_ = std::move(result);
    done_ = true;
  }
  cv_.notify_all();
}

RequestState::RequestState(uint64_t id_, Request request_, TokenCallback callback_, std::vector<int32_t> stop_ids_,
                           const Tokenizer& tokenizer)
    : id(id_),
      request(std::move(request_)),
      callback(std::move(callback_)),
      stop_ids(std::move(stop_ids_)),
      completion(std::make_shared<RequestCompletion>(id_)),
      sampler(request.sampling),
      decoder(tokenizer, /*skip_special=*/false),
      stops(request.stop_strings),
      context(request.prompt) {
  result.prompt_tokens = static_cast<int64_t>(request.prompt.size());
  submitted = EngineClock::now();
}

}  // namespace gemma4
