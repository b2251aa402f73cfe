// A fixed pool that splits [0, n) into one contiguous chunk per thread. Work
// is assigned by index, never stolen, so which thread runs an environment
// cannot change any result.
#ifndef PGFAST_THREAD_POOL_HPP_
#define PGFAST_THREAD_POOL_HPP_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace pgfast {

// Non-owning callable reference: lets parallel_for take a lambda without the
// heap allocation std::function may make.
class RangeFn {
 public:
  template <class F>
  RangeFn(F& f)  // NOLINT(runtime/explicit): built implicitly from lambdas
      : obj_(static_cast<void*>(&f)),
        call_([](void* obj, std::int64_t b, std::int64_t e) { (*static_cast<F*>(obj))(b, e); }) {}
  void operator()(std::int64_t begin, std::int64_t end) const { call_(obj_, begin, end); }

 private:
  void* obj_;
  void (*call_)(void*, std::int64_t, std::int64_t);
};

// Non-owning reference to a void() callable.
class PollFn {
 public:
  template <class F>
  PollFn(F& f)  // NOLINT(runtime/explicit): built implicitly from lambdas
      : obj_(static_cast<void*>(&f)), call_([](void* obj) { (*static_cast<F*>(obj))(); }) {}
  void operator()() const { call_(obj_); }

 private:
  void* obj_;
  void (*call_)(void*);
};

class ThreadPool {
 public:
  static constexpr int kMaxThreads = 256;

  // num_threads counts the calling thread, which always takes chunk 0.
  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return num_threads_; }

  // Calls fn(begin, end) on num_chunks contiguous chunks of [0, n) in
  // parallel (num_chunks <= num_threads) and returns when all are done.
  // fn must not throw. While the calling thread waits for the others it
  // calls `idle` (if given) every few milliseconds: Ctrl-C polling.
  void parallel_for(std::int64_t n, int num_chunks, RangeFn fn, const PollFn* idle = nullptr);

 private:
  void worker_loop(int worker_index);
  void stop_and_join();
  // Waking a sleeping thread takes tens of microseconds on a VM, as long as
  // the serial part of an update between two parallel phases: threads spin
  // briefly before they sleep.
  template <class Done>
  static void spin_until(Done done) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(200);
    while (!done()) {
      for (int k = 0; k < 64 && !done(); ++k) std::this_thread::yield();
      if (std::chrono::steady_clock::now() > until) return;
    }
  }

  int num_threads_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable work_done_;
  std::uint64_t generation_ = 0;
  int pending_ = 0;
  bool stopping_ = false;
  // Mirrors of generation_, pending_ and stopping_ for spinning without the lock.
  std::atomic<std::uint64_t> published_{0};
  std::atomic<int> remaining_{0};
  std::atomic<bool> stopping_flag_{false};
  // The current job, valid while pending_ > 0.
  const RangeFn* job_ = nullptr;
  std::int64_t job_n_ = 0;
  int job_chunks_ = 0;
};

// Chunk c of [0, n) split into k near-equal contiguous parts.
inline std::pair<std::int64_t, std::int64_t> chunk_bounds(std::int64_t n, int k, int c) {
  const std::int64_t base = n / k, extra = n % k;
  const std::int64_t begin = c * base + (c < extra ? c : extra);
  return {begin, begin + base + (c < extra ? 1 : 0)};
}

}  // namespace pgfast

#endif  // PGFAST_THREAD_POOL_HPP_
