#pragma once
// The one exception type the engine throws for bad input (files, configs, requests) and
// exhausted resources. Messages name the thing that is wrong: file, tensor, field, position.
#include <stdexcept>
#include <string>

namespace gemma4 {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace gemma4
