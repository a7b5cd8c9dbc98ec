// SPDX-License-Identifier: Apache-2.0
// Compile-time facts about the presets. This file only has to compile.
#include <lmnet/models.hpp>

namespace {

using namespace lmnet;

inline constexpr auto mobilenet_v2_10 = models::mobilenet_v2({.classes = 10});
inline constexpr auto mobilenet_v2_1000 = models::mobilenet_v2();
inline constexpr auto mobilenet_v2_cifar =
    models::mobilenet_v2({.classes = 10, .resolution = 32, .cifar = true});
inline constexpr auto shufflenet_v2_10 = models::shufflenet_v2({.classes = 10});
inline constexpr auto shufflenet_v2_cifar =
    models::shufflenet_v2({.classes = 10, .resolution = 32, .cifar = true});
inline constexpr auto shufflenet_v2_x05 = models::shufflenet_v2({.classes = 1000, .width = 0.5});
inline constexpr auto l_mobilenet = models::l_mobilenet();

// torchvision's counts (`sum(p.numel() for p in model.parameters())`).
static_assert(plan_of<mobilenet_v2_10>.params() == 2'236'682);
static_assert(plan_of<mobilenet_v2_1000>.params() == 3'504'872);
static_assert(plan_of<mobilenet_v2_1000>.macs() == 300'774'272);
static_assert(plan_of<mobilenet_v2_cifar>.macs() == 87'976'448);
static_assert(plan_of<mobilenet_v2_1000>.weight_layers() == 53);
static_assert(plan_of<shufflenet_v2_10>.params() == 1'263'854);
static_assert(plan_of<shufflenet_v2_cifar>.macs() == 45'002'112);
static_assert(plan_of<shufflenet_v2_x05>.params() == 1'366'792);
static_assert(plan_of<shufflenet_v2_10>.weight_layers() == 57);

// L-Mobilenet: 38 weight layers, and the paper's parameter ratios (3.7x fewer than MobileNetV2,
// 1.5x fewer than ShuffleNetV2), both against the CIFAR variants with 10 classes.
static_assert(plan_of<l_mobilenet>.weight_layers() == 38);
static_assert(plan_of<l_mobilenet>.params() * 37 <= plan_of<mobilenet_v2_cifar>.params() * 10);
static_assert(plan_of<l_mobilenet>.params() * 15 <= plan_of<shufflenet_v2_cifar>.params() * 10);
static_assert(plan_of<l_mobilenet>.input_shape() == shape{32, 32, 3});
static_assert(plan_of<l_mobilenet>.output_shape() == shape{1, 1, 10});

// The README's preset table, cell by cell, for the configurations it names.
static_assert(plan_of<mobilenet_v2_cifar>.params() == 2'236'682);
static_assert(plan_of<mobilenet_v2_cifar>.weight_layers() == 53);
static_assert(plan_of<shufflenet_v2_cifar>.params() == 1'263'854);
static_assert(plan_of<shufflenet_v2_cifar>.weight_layers() == 57);
static_assert(plan_of<l_mobilenet>.params() == 257'978);
static_assert(plan_of<l_mobilenet>.macs() == 8'862'208);

// Shapes through the network.
static_assert(plan_of<mobilenet_v2_1000>.output_shape() == shape{1, 1, 1000});
static_assert(plan_of<mobilenet_v2_cifar>.nodes[0].spec.output == shape{32, 32, 32});
static_assert(plan_of<mobilenet_v2_1000>.nodes[0].spec.output == shape{112, 112, 32});
static_assert(plan_of<shufflenet_v2_10>.nodes[1].spec.kind == op::max_pool2d);
static_assert(plan_of<shufflenet_v2_10>.nodes[1].spec.output == shape{56, 56, 24});

}  // namespace

namespace {

// The small networks of the cascade pool (1 input channel, as trained on Fashion-MNIST), with the
// counts PyTorch reports for the mirrors in tools/lmnet_tools/models.py.
inline constexpr auto plain_cnn = lmnet::models::plain_cnn({.channels = 1});
inline constexpr auto resnet8 = lmnet::models::resnet_cifar({.channels = 1});
inline constexpr auto resnet20 =
    lmnet::models::resnet_cifar({.channels = 3, .blocks_per_stage = 3});
static_assert(lmnet::plan_of<plain_cnn>.params() == 72'666);
static_assert(lmnet::plan_of<plain_cnn>.macs() == 9'585'280);
static_assert(lmnet::plan_of<resnet8>.params() == 77'754);
static_assert(lmnet::plan_of<resnet8>.macs() == 12'206'720);
static_assert(lmnet::plan_of<resnet20>.params() == 272'474);  // the CIFAR ResNet-20's 0.27 M

}  // namespace
