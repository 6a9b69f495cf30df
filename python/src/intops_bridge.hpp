// gqalut._core: the bindings of the integer operations (intops.hpp), kept apart
// so that a change of those datapaths touches one small file.
#pragma once

#include <pybind11/pybind11.h>

namespace gqalut::python {
void bind_intops(pybind11::module_& m);
}
