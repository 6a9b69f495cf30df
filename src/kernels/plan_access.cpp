// detail::PlanAccess: the one door between the public plan handles
// (include/gqalut/kernels.hpp, intops.hpp) and their layouts (plan_layout.h).
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

#include "plan_layout.h"

namespace gqalut::detail {

template <class Plan, class Layout>
Plan PlanAccess::make(std::shared_ptr<const Layout> l) {
  Plan p;
  p.layout_ = std::move(l);
  return p;
}

template <class Layout, class Plan>
const Layout& PlanAccess::get(const Plan& p, const char* plan, const char* maker) {
  if (!p.layout_) throw std::invalid_argument(fmt::format("{} is empty (default-constructed): build it with {}", plan, maker));
  return *p.layout_;
}

PwlPlan PlanAccess::wrap(std::shared_ptr<const PwlLayout> l) { return make<PwlPlan>(std::move(l)); }
RequantPlan PlanAccess::wrap(std::shared_ptr<const RequantLayout> l) { return make<RequantPlan>(std::move(l)); }
Lut256Plan PlanAccess::wrap(std::shared_ptr<const Lut256Layout> l) { return make<Lut256Plan>(std::move(l)); }
SoftmaxPlan PlanAccess::wrap(std::shared_ptr<const SoftmaxLayout> l) { return make<SoftmaxPlan>(std::move(l)); }
LayerNormPlan PlanAccess::wrap(std::shared_ptr<const LayerNormLayout> l) { return make<LayerNormPlan>(std::move(l)); }
ActivationPlan PlanAccess::wrap(std::shared_ptr<const ActivationLayout> l) { return make<ActivationPlan>(std::move(l)); }

const PwlLayout& PlanAccess::layout(const PwlPlan& p) { return get<PwlLayout>(p, "PwlPlan", "prepare_pwl"); }
const RequantLayout& PlanAccess::layout(const RequantPlan& p) {
  return get<RequantLayout>(p, "RequantPlan", "prepare_requant");
}
const Lut256Layout& PlanAccess::layout(const Lut256Plan& p) {
  return get<Lut256Layout>(p, "Lut256Plan", "prepare_lut256");
}
const SoftmaxLayout& PlanAccess::layout(const SoftmaxPlan& p) {
  return get<SoftmaxLayout>(p, "SoftmaxPlan", "prepare_softmax");
}
const LayerNormLayout& PlanAccess::layout(const LayerNormPlan& p) {
  return get<LayerNormLayout>(p, "LayerNormPlan", "prepare_layernorm");
}
const ActivationLayout& PlanAccess::layout(const ActivationPlan& p) {
  return get<ActivationLayout>(p, "ActivationPlan", "prepare_activation");
}

}  // namespace gqalut::detail
