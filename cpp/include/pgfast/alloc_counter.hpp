// A count of the heap allocations made through operator new by code linked
// into pgfast (std containers, Eigen matrices are built on them or on
// malloc; see alloc_counter.cpp). Tests read it before and after updates to
// prove that a training step allocates nothing once its buffers have grown.
#ifndef PGFAST_ALLOC_COUNTER_HPP_
#define PGFAST_ALLOC_COUNTER_HPP_

#include <cstdint>

namespace pgfast {

// -1 when the build has no counter (sanitizer builds keep their own
// allocator).
std::int64_t allocation_count();

}  // namespace pgfast

#endif  // PGFAST_ALLOC_COUNTER_HPP_
