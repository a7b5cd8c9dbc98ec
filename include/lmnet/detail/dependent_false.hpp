// SPDX-License-Identifier: Apache-2.0
// IWYU pragma: private
#pragma once

namespace lmnet::detail {

/// False, but only once a template is instantiated: lets a primary template's static_assert fire
/// only when it is actually used.
template <class...>
inline constexpr bool dependent_false = false;

template <auto...>
inline constexpr bool dependent_false_v = false;

}  // namespace lmnet::detail
