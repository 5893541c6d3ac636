#pragma once
// A non-owning reference to a callable: what ThreadPool::run takes instead of std::function, whose
// type erasure allocates for any lambda that captures more than two pointers. Decode issues a few
// hundred parallel regions per token, and a decoded token must not allocate. The referenced callable
// must outlive the call it is passed to (always true for a lambda written in the argument list).
#include <memory>
#include <type_traits>
#include <utility>

namespace gemma4 {

template <class Signature>
class FunctionRef;

template <class R, class... Args>
class FunctionRef<R(Args...)> {
 public:
  template <class Callable,
            class = std::enable_if_t<!std::is_same_v<std::decay_t<Callable>, FunctionRef> &&
                                     std::is_invocable_r_v<R, Callable&, Args...>>>
  FunctionRef(Callable&& callable) noexcept  // NOLINT(google-explicit-constructor): used like std::function
      : object_(const_cast<void*>(static_cast<const void*>(std::addressof(callable)))),
        call_(&invoke<std::remove_reference_t<Callable>>) {}

  R operator()(Args... args) const { return call_(object_, std::forward<Args>(args)...); }

 private:
  template <class Callable>
  static R invoke(void* object, Args... args) {
    return (*static_cast<Callable*>(object))(std::forward<Args>(args)...);
  }

  void* object_;
  R (*call_)(void*, Args...);
};

}  // namespace gemma4
