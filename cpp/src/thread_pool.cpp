#include "pgfast/thread_pool.hpp"

#include <chrono>
#include <thread>

#include "pgfast/check.hpp"

namespace pgfast {

ThreadPool::ThreadPool(int num_threads) : num_threads_(num_threads) {
  require(num_threads >= 1 && num_threads <= kMaxThreads, "num_threads must be in [1, ",
          kMaxThreads, "], got ", num_threads);
  workers_.reserve(static_cast<std::size_t>(num_threads - 1));
  try {
    for (int w = 1; w < num_threads; ++w) workers_.emplace_back([this, w] { worker_loop(w); });
  } catch (...) {
    // The OS refused a thread: stop the ones started (a joinable std::thread
    // destroyed unjoined would terminate the process).
    stop_and_join();
    throw;
  }
}

ThreadPool::~ThreadPool() { stop_and_join(); }

void ThreadPool::stop_and_join() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    stopping_flag_.store(true, std::memory_order_relaxed);
  }
  work_ready_.notify_all();
  for (auto& t : workers_)
    if (t.joinable()) t.join();
}

void ThreadPool::parallel_for(std::int64_t n, int num_chunks, RangeFn fn, const PollFn* idle) {
  if (num_chunks > num_threads_) num_chunks = num_threads_;
  if (num_chunks <= 1 || n <= 1) {
    fn(0, n);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = &fn;
    job_n_ = n;
    job_chunks_ = num_chunks;
    pending_ = num_chunks - 1;
    remaining_.store(num_chunks - 1, std::memory_order_relaxed);
    ++generation_;
    published_.store(generation_, std::memory_order_release);
  }
  work_ready_.notify_all();
  const auto [begin, end] = chunk_bounds(n, num_chunks, 0);
  fn(begin, end);
  spin_until([this] { return remaining_.load(std::memory_order_acquire) == 0; });
  std::unique_lock<std::mutex> lock(mutex_);
  if (idle) {
    while (!work_done_.wait_for(lock, std::chrono::milliseconds(5),
                                [this] { return pending_ == 0; })) {
      lock.unlock();
      (*idle)();
      lock.lock();
    }
  } else {
    work_done_.wait(lock, [this] { return pending_ == 0; });
  }
  job_ = nullptr;
}

void ThreadPool::worker_loop(int worker_index) {
  std::uint64_t seen = 0;
  for (;;) {
    const RangeFn* job;
    std::int64_t n;
    int chunks;
    spin_until([&] {
      return published_.load(std::memory_order_acquire) != seen ||
             stopping_flag_.load(std::memory_order_relaxed);
    });
    {
      std::unique_lock<std::mutex> lock(mutex_);
      work_ready_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      job = job_;
      n = job_n_;
      chunks = job_chunks_;
    }
    if (worker_index < chunks) {
      const auto [begin, end] = chunk_bounds(n, chunks, worker_index);
      (*job)(begin, end);
      std::lock_guard<std::mutex> lock(mutex_);
      remaining_.fetch_sub(1, std::memory_order_release);
      if (--pending_ == 0) work_done_.notify_one();
    }
  }
}

}  // namespace pgfast
