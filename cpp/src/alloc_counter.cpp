// Replaces the global operator new/delete of the extension module with
// counting versions over malloc/free, the same allocator libstdc++'s use, so
// that memory may cross between them. The extension is loaded with
// RTLD_LOCAL: the replacement serves pgfast's code (and the libraries loaded
// for it), never the interpreter's. Eigen allocates with malloc directly;
// the engine keeps its Eigen objects in workspaces sized once (estimator,
// value fit, natural step), which the tests' allocation checks cover through
// the vectors and matrices that are resized, not through Eigen's malloc.
#include "pgfast/alloc_counter.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

namespace pgfast {

#ifdef PGFAST_SANITIZE

std::int64_t allocation_count() { return -1; }

#else

namespace {
std::atomic<std::int64_t> g_allocations{0};

void* counted(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}

void* counted_aligned(std::size_t size, std::align_val_t align) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  const auto a = static_cast<std::size_t>(align);
  // aligned_alloc needs a size that is a multiple of the alignment.
  const std::size_t rounded = ((size == 0 ? 1 : size) + a - 1) / a * a;
  if (void* p = std::aligned_alloc(a, rounded)) return p;
  throw std::bad_alloc();
}
}  // namespace

std::int64_t allocation_count() { return g_allocations.load(std::memory_order_relaxed); }

#endif

}  // namespace pgfast

#ifndef PGFAST_SANITIZE

void* operator new(std::size_t size) { return pgfast::counted(size); }
void* operator new[](std::size_t size) { return pgfast::counted(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return pgfast::counted(size);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return pgfast::counted(size);
  } catch (...) {
    return nullptr;
  }
}
void* operator new(std::size_t size, std::align_val_t align) {
  return pgfast::counted_aligned(size, align);
}
void* operator new[](std::size_t size, std::align_val_t align) {
  return pgfast::counted_aligned(size, align);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

#endif
