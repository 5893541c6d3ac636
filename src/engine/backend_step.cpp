// A step on a ForwardBackend: the engine's KV books decide where every row goes (blocks reserved
// here, committed after the step, exactly as forward_batch does for the CPU kernels); the backend
// gets the block tables and computes the rows. Copies the prefix cache asked for since the last
// step (copy-on-write after rejected drafts) go first, so they land before any row is written.
#include "engine/engine_impl.h"
#include "gemma4/error.h"

namespace gemma4 {

namespace {

constexpr AttentionType kTableGroups[2] = {AttentionType::Sliding, AttentionType::Full};

// The sequence's block for each block-sized span of [0, end); -1 where released or absent.
void block_table(const KvSequence& seq, AttentionType group, int64_t end, std::vector<int32_t>& out) {
  const int64_t block = seq.pool().block_size();
  out.clear();
  if (!seq.pool().has_group(group)) return;
  for (int64_t p = 0; p < end; p += block) out.push_back(seq.block(group, p));
}

}  // namespace

void EngineImpl::forward_on_backend() {
  const ModelConfig& c = model->config();
  const int64_t limit = c.has_per_layer_inputs() ? std::min(c.vocab_size, c.vocab_size_per_layer_input) : c.vocab_size;
  for (const ForwardSegment& seg : segments_)
    for (size_t t = 0; t < seg.tokens.size(); ++t)
      if (seg.tokens[t] < 0 || seg.tokens[t] >= limit)
        throw Error("token id " + std::to_string(seg.tokens[t]) + " at position " + std::to_string(t) +
                    " is out of range (vocabulary size " + std::to_string(limit) + ")");
  for (const ForwardSegment& seg : segments_) seg.seq->reserve(static_cast<int64_t>(seg.tokens.size()));
  backend_tables_.resize(2 * segments_.size());
  backend_segments_.clear();
  for (size_t i = 0; i < segments_.size(); ++i) {
    const ForwardSegment& seg = segments_[i];
    const int64_t end = seg.seq->length() + static_cast<int64_t>(seg.tokens.size());
    for (int g = 0; g < 2; ++g) block_table(*seg.seq, kTableGroups[g], end, backend_tables_[2 * i + g]);
    backend_segments_.push_back({seg.seq->length(), seg.tokens, seg.logits_count, backend_tables_[2 * i],
                                 backend_tables_[2 * i + 1]});
  }
  const std::vector<KvBlockCopy> copies = pool_->take_copies();
  logits_.clear();
  options.forward_backend->forward(copies, backend_segments_, logits_);
  int64_t wanted = 0;
  for (const ForwardSegment& seg : segments_) wanted += seg.logits_count;
  if (static_cast<int64_t>(logits_.size()) != wanted * c.vocab_size)
    throw Error("the forward backend returned " + std::to_string(logits_.size()) + " logits for " +
                std::to_string(wanted) + " rows of " + std::to_string(c.vocab_size));
  for (const ForwardSegment& seg : segments_) seg.seq->commit(seg.tokens);
}

}  // namespace gemma4
