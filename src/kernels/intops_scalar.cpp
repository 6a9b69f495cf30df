// Row loops of the integer operators, compiled for scalar (see CMakeLists.txt flags).
#include <cstdint>

#include "intops_loops.h"

namespace gqalut {
namespace intops_detail {
#define GQALUT_ISA_NS isa_scalar
#define GQALUT_ROW_LOOPS_GETTER row_loops_scalar
#include "intops_impl.inc"
}  // namespace intops_detail
}  // namespace gqalut
