// The production Backend: a thin forwarder to gemma4::Engine.
#include "server/backend.h"

namespace gemma4::server {
namespace {

class EngineBackend final : public Backend {
 public:
  explicit EngineBackend(std::shared_ptr<Engine> engine) : engine_(std::move(engine)) {}

  std::string model_name() const override { return engine_->model_name(); }
  int64_t max_context() const override { return engine_->options().max_context; }
  int32_t vocab_size() const override { return engine_->tokenizer().vocab_size(); }
  const GenerationDefaults& defaults() const override { return engine_->defaults(); }

  std::string render_chat(const nlohmann::json& messages, const nlohmann::json& tools,
                          const ChatOptions& options) const override {
    return engine_->render_chat(messages, tools, options);
  }
  std::vector<int32_t> encode(std::string_view text) const override { return engine_->tokenizer().encode(text, true); }
  BoundedEncoding encode_at_most(std::string_view text, size_t max_tokens) const override {
    return engine_->tokenizer().encode_at_most(text, max_tokens, true);
  }
  std::string decode(std::span<const int32_t> ids) const override { return engine_->tokenizer().decode(ids); }

  std::shared_ptr<RequestHandle> submit(Request request, TokenCallback on_token) override {
    return engine_->submit(std::move(request), std::move(on_token));
  }
  EngineStats stats() const override { return engine_->stats(); }
  void shutdown() override { engine_->shutdown(); }

 private:
  std::shared_ptr<Engine> engine_;
};

}  // namespace

std::shared_ptr<Backend> make_engine_backend(std::shared_ptr<Engine> engine) {
  return std::make_shared<EngineBackend>(std::move(engine));
}

}  // namespace gemma4::server
