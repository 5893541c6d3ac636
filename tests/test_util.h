#pragma once
// Shared helpers for tests: paths to test data, golden fixture manifests, temp folders.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace gemma4::testing {

inline std::filesystem::path data_dir() { return GEMMA4_TEST_DATA; }
inline std::filesystem::path tiny_a_dir() { return data_dir() / "tiny-a"; }

inline std::vector<float> read_f32_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  std::streamsize size = in.tellg();
  in.seekg(0);
  std::vector<float> v(static_cast<size_t>(size) / 4);
  in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * 4));
  return v;
}

inline nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  return nlohmann::json::parse(in);
}

struct GoldenSequence {
  std::string name;
  std::vector<int32_t> ids;
  std::vector<float> logits;  // [T, V]
  int64_t vocab = 0;
  double min_top1_margin = 0;
  std::filesystem::path hidden_file;  // may be empty
};

struct GoldenFixture {
  std::filesystem::path dir;
  std::vector<GoldenSequence> sequences;
  std::vector<int32_t> greedy_prompt, greedy_continuation;
};

inline GoldenFixture load_golden(const std::filesystem::path& dir) {
  GoldenFixture f;
  f.dir = dir;
  auto m = read_json(dir / "golden" / "manifest.json");
  for (const auto& s : m["sequences"]) {
    GoldenSequence g;
    g.name = s["name"].get<std::string>();
    g.ids = s["ids"].get<std::vector<int32_t>>();
    g.logits = read_f32_file(dir / "golden" / s["logits"].get<std::string>());
    g.vocab = s["logits_shape"][1].get<int64_t>();
    g.min_top1_margin = s.value("min_top1_margin", 0.0);
    if (s.contains("hidden")) g.hidden_file = dir / "golden" / s["hidden"].get<std::string>();
    f.sequences.push_back(std::move(g));
  }
  if (m.contains("greedy")) {
    f.greedy_prompt = m["greedy"]["prompt"].get<std::vector<int32_t>>();
    f.greedy_continuation = m["greedy"]["continuation"].get<std::vector<int32_t>>();
  }
  return f;
}

inline double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return 1e30;
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    double d = std::abs(static_cast<double>(a[i]) - b[i]);
    if (!(d <= worst)) worst = d;  // NaN propagates as "worst"
  }
  return worst;
}

// A fresh empty folder under the system temp dir, removed when the object dies.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / ("gemma4-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace gemma4::testing
