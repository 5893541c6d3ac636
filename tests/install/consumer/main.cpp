// Greedy answer of the installed engine to one user turn, printed as JSON
// {"prompt_tokens": N, "tokens": [ids]}:
//   consumer MODEL_DIR PROMPT MAX_TOKENS
// scripts/test_install.sh compares it with `gemma4 batch` on the same model and prompt.
#include <cstdio>
#include <cstdlib>
#include <string>

#include <gemma4/engine.h>
#include <gemma4/version.h>

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: consumer MODEL_DIR PROMPT MAX_TOKENS\n");
    return 2;
  }
  try {
    auto engine = gemma4::Engine::open(argv[1], {.dtype = "f32", .threads = 1, .parallel = 1});
    gemma4::Request req;
    const nlohmann::json messages = {{{"role", "user"}, {"content", argv[2]}}};
    req.prompt = engine->encode_chat(messages, nullptr, {});
    req.sampling = engine->defaults().sampling;
    req.sampling.temperature = 0;
    req.max_tokens = std::atoi(argv[3]);
    const gemma4::RequestResult result = engine->generate(req);
    const nlohmann::json out = {{"prompt_tokens", req.prompt.size()}, {"tokens", result.tokens}};
    std::printf("%s\n", out.dump().c_str());
    std::fprintf(stderr, "gemma4 %s: %zu tokens\n", gemma4::kVersion, result.tokens.size());
  } catch (const gemma4::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
