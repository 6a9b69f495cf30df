// Row loops of the integer operators, compiled for avx2 (see CMakeLists.txt flags).
#include <immintrin.h>

#include <cstdint>

#include "intops_loops.h"

namespace gqalut {
namespace intops_detail {
#define GQALUT_ISA_NS isa_avx2
#define GQALUT_ROW_LOOPS_GETTER row_loops_avx2
#include "intops_impl.inc"
}  // namespace intops_detail
}  // namespace gqalut
