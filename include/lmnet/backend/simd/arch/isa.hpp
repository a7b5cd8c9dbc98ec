// SPDX-License-Identifier: Apache-2.0
// The one place that includes instruction-set specific code: the portable forms, then the files
// of the instruction sets the compile flags enable. A call `isa::f<Arch>(..., Arch{})` takes the
// form of the nearest instruction set Arch derives from.
#pragma once

#include <lmnet/backend/simd/arch/generic.hpp>

#if XSIMD_WITH_AVX2
#include <lmnet/backend/simd/arch/avx2.hpp>
#endif
#if XSIMD_WITH_AVX512F
#include <lmnet/backend/simd/arch/avx512.hpp>
#endif
