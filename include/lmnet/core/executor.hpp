// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <concepts>
#include <memory>
#include <type_traits>

namespace lmnet {

/// A non-owning reference to a callable taking a task index: what an executor runs. Copying it
/// copies two pointers; it never allocates. It must not outlive the callable (a temporary lambda
/// lives until the end of the call it is passed to).
class task_ref {
 public:
  template <class F>
  requires(!std::is_same_v<std::remove_cvref_t<F>, task_ref> &&
           std::invocable<std::remove_reference_t<F>&, int>)
      task_ref(F&& f)  // NOLINT: implicit, so a lambda can be passed where a task is expected
      : object_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        call_([](void* object, int index) {
          (*static_cast<std::remove_reference_t<F>*>(object))(index);
        }) {}

  void operator()(int index) const { call_(object_, index); }

 private:
  void* object_;
  void (*call_)(void*, int);
};

/// Runs tasks, possibly in parallel. `parallel_for(count, task)` calls task(i) once for every i in
/// [0, count), from any of its threads (the caller's included), and returns when all calls have
/// returned; `concurrency()` is how many calls may run at once (1: sequentially). A task never
/// waits for another task, so an executor that runs them one after another is always correct.
template <class E>
concept Executor = requires(E& e, const E& ce, int count, task_ref task) {
  { ce.concurrency() } -> std::convertible_to<int>;
  e.parallel_for(count, task);
};

/// Runs every task on the calling thread, in order.
struct inline_executor {
  int concurrency() const { return 1; }
  void parallel_for(int count, task_ref task) {
    for (int i = 0; i < count; ++i) task(i);
  }
};

/// A type-erased reference to an executor the caller keeps alive.
class executor_ref {
 public:
  template <Executor E>
  requires(!std::is_same_v<E, executor_ref>) executor_ref(E& e)  // NOLINT: implicit by design
      : object_(static_cast<void*>(std::addressof(e))),
        concurrency_([](const void* o) {
          return static_cast<int>(static_cast<const E*>(o)->concurrency());
        }),
        parallel_for_([](void* o, int count, task_ref task) {
          static_cast<E*>(o)->parallel_for(count, task);
        }) {}

  int concurrency() const { return concurrency_(object_); }
  void parallel_for(int count, task_ref task) { parallel_for_(object_, count, task); }

 private:
  void* object_;
  int (*concurrency_)(const void*);
  void (*parallel_for_)(void*, int, task_ref);
};

}  // namespace lmnet
