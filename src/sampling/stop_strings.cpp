// StopStringMatcher: streaming stop-string detection that never emits a possible stop prefix.
#include <algorithm>

#include "gemma4/sampling.h"

namespace gemma4 {

namespace {

// Length of the longest suffix of `text` that is a proper prefix of some stop string: the part
// that a later delta could still turn into a stop.
size_t held_back_length(std::string_view text, const std::vector<std::string>& stops) {
  size_t longest = 0;
  for (const std::string& stop : stops) {
    const size_t limit = std::min(text.size(), stop.size() - 1);
    for (size_t length = limit; length > longest; --length) {
      if (text.substr(text.size() - length) == std::string_view(stop).substr(0, length)) {
        longest = length;
        break;
      }
    }
  }
  return longest;
}

}  // namespace

StopStringMatcher::StopStringMatcher(std::vector<std::string> stops) {
  for (std::string& stop : stops) {
    if (!stop.empty()) stops_.push_back(std::move(stop));
  }
}

StopStringMatcher::Result StopStringMatcher::push(std::string_view text_delta) {
  if (stopped_) return {"", true};
  pending_.append(text_delta);

  // The stop that completes first in the stream wins: earliest end, then earliest start. That makes
  // the outcome independent of how the text was split into deltas.
  size_t best_end = std::string::npos;
  size_t best_start = 0;
  const std::string* best_stop = nullptr;
  for (const std::string& stop : stops_) {
    const size_t start = pending_.find(stop);
    if (start == std::string::npos) continue;
    const size_t end = start + stop.size();
    if (best_stop == nullptr || end < best_end || (end == best_end && start < best_start)) {
      best_end = end;
      best_start = start;
      best_stop = &stop;
    }
  }
  if (best_stop != nullptr) {
    stopped_ = true;
    matched_stop_ = *best_stop;
    Result result{pending_.substr(0, best_start), true};
    pending_.clear();
    return result;
  }

  const size_t keep = held_back_length(pending_, stops_);
  Result result{pending_.substr(0, pending_.size() - keep), false};
  pending_.erase(0, pending_.size() - keep);
  return result;
}

std::string StopStringMatcher::flush() {
  std::string rest;
  rest.swap(pending_);
  return rest;
}

}  // namespace gemma4
