#include "server/choice_builder.h"

namespace gemma4::server {
namespace {

// Logprobs of tokens not yet sent, attached to the next chunk of their choice so that a streamed
// answer reports every token exactly once even while text is held back.
class PendingLogprobs {
 public:
  explicit PendingLogprobs(bool enabled) : enabled_(enabled) {}
  void add(const TokenEvent& event) {
    if (enabled_ && event.token >= 0) pending_.push_back(event);
  }
  template <typename Format>
  json take(const Format& format) {
    if (!enabled_ || pending_.empty()) return nullptr;
    json out = format(pending_);
    pending_.clear();
    return out;
  }

 private:
  bool enabled_;
  std::vector<TokenEvent> pending_;
};

class ChatChoice final : public ChoiceBuilder {
 public:
  ChatChoice(int index, ChatAssemblerOptions options, bool logprobs, TokenText text_of)
      : index_(index), assembler_(std::move(options)), logprobs_(logprobs), pending_(logprobs),
        text_of_(std::move(text_of)) {}

  std::vector<json> opening() override {
    return {chat_chunk_choice(index_, {{"role", "assistant"}, {"content", ""}})};
  }

  std::vector<json> on_token(const TokenEvent& event) override {
    pending_.add(event);
    return wrap(assembler_.push(event.text), nullptr);
  }

  std::vector<json> on_finish(const RequestResult& result) override {
    std::vector<json> deltas = assembler_.finish();
    deltas.push_back(json::object());
    return wrap(std::move(deltas), finish_reason_text(result.finish, assembler_.has_tool_calls()));
  }

  json final_choice(const RequestResult& result) const override {
    json logprobs = logprobs_ ? chat_logprobs(result.logprobs, text_of_) : json(nullptr);
    return {{"index", index_},
            {"message", assembler_.message()},
            {"logprobs", std::move(logprobs)},
            {"finish_reason", finish_reason_text(result.finish, assembler_.has_tool_calls())}};
  }

  int64_t reasoning_tokens() const override { return assembler_.reasoning_tokens(); }

 private:
  // The last delta carries `last_finish` (null for all but the closing one).
  std::vector<json> wrap(std::vector<json> deltas, json last_finish) {
    std::vector<json> out;
    for (size_t i = 0; i < deltas.size(); ++i) {
      const bool last = i + 1 == deltas.size();
      json logprobs = pending_.take([&](const std::vector<TokenEvent>& e) { return chat_logprobs(e, text_of_); });
      out.push_back(chat_chunk_choice(index_, std::move(deltas[i]), last ? last_finish : json(nullptr), std::move(logprobs)));
    }
    return out;
  }

  int index_;
  ChatAssembler assembler_;
  bool logprobs_;
  PendingLogprobs pending_;
  TokenText text_of_;
};

class TextChoice final : public ChoiceBuilder {
 public:
  TextChoice(int index, bool logprobs, TokenText text_of)
      : index_(index), logprobs_(logprobs), pending_(logprobs), text_of_(std::move(text_of)) {}

  std::vector<json> on_token(const TokenEvent& event) override {
    pending_.add(event);
    if (event.text.empty()) return {};
    json logprobs = take_logprobs();
    return {text_choice(index_, event.text, nullptr, std::move(logprobs))};
  }

  std::vector<json> on_finish(const RequestResult& result) override {
    return {text_choice(index_, "", finish_reason_text(result.finish, false), take_logprobs())};
  }

  json final_choice(const RequestResult& result) const override {
    json logprobs = logprobs_ ? completion_logprobs(result.logprobs, text_of_, 0) : json(nullptr);
    return text_choice(index_, result.text, finish_reason_text(result.finish, false), std::move(logprobs));
  }

 private:
  json take_logprobs() {
    const int64_t offset = logprob_offset_;
    return pending_.take([&](const std::vector<TokenEvent>& events) {
      json out = completion_logprobs(events, text_of_, offset);
      for (const auto& t : out["tokens"]) logprob_offset_ += static_cast<int64_t>(t.get<std::string>().size());
      return out;
    });
  }

  int index_;
  bool logprobs_;
  PendingLogprobs pending_;
  TokenText text_of_;
  int64_t logprob_offset_ = 0;
};

}  // namespace

std::unique_ptr<ChoiceBuilder> make_chat_choice(int index, ChatAssemblerOptions options, bool logprobs,
                                                TokenText text_of) {
  return std::make_unique<ChatChoice>(index, std::move(options), logprobs, std::move(text_of));
}

std::unique_ptr<ChoiceBuilder> make_text_choice(int index, bool logprobs, TokenText text_of) {
  return std::make_unique<TextChoice>(index, logprobs, std::move(text_of));
}

}  // namespace gemma4::server
