"""PyTorch definitions whose state_dict names are the module paths lmnet's presets bind to.

torchvision's MobileNetV2 and ShuffleNetV2 are used as they are; their CIFAR-size variants only
change strides (and drop ShuffleNetV2's max-pool), and a `channels` argument replaces the stem's
input channels. L-Mobilenet and the small cascade networks are lmnet's own and are defined here,
mirroring include/lmnet/models/*.hpp.
"""

import torch
from torch import nn
import torchvision


def make_divisible(value, divisor=8):
    """torchvision's channel rounding for width multipliers (models/make_divisible.hpp)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


class ConvBN(nn.Sequential):
    """Conv, BatchNorm, activation: children 0, 1, 2 (lmnet's conv_bn)."""

    def __init__(self, cin, cout, kernel=1, stride=1, groups=1, act=nn.ReLU6):
        super().__init__(
            nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout),
            act() if act is not None else nn.Identity(),
        )


class LBottleneck(nn.Module):
    """lmnet's L-Mobilenet bottleneck (blocks/l_bottleneck.hpp)."""

    def __init__(self, cin, cout, stride, expansion=4, groups=2, depths=(1, 2), widths=(1, 1)):
        super().__init__()
        expanded = cin * expansion
        self.expand = ConvBN(cin, expanded, 1)
        total = sum(widths)
        self.bounds = []
        before = 0
        for i, w in enumerate(widths):
            begin = expanded * before // total
            end = expanded if i + 1 == len(widths) else expanded * (before + w) // total
            self.bounds.append((begin, end))
            before += w
        self.branches = nn.ModuleList(
            nn.Sequential(*[ConvBN(e - b, e - b, 3, stride if j == 0 else 1, groups=e - b)
                            for j in range(depth)])
            for (b, e), depth in zip(self.bounds, depths))
        self.project = ConvBN(expanded, cout, 1, groups=groups, act=None)
        self.use_shortcut = stride == 1 and cin == cout

    def forward(self, x):
        e = self.expand(x)
        y = torch.cat([branch(e[:, b:t]) for branch, (b, t) in zip(self.branches, self.bounds)], 1)
        y = self.project(y)
        return x + y if self.use_shortcut else y


class LMobilenet(nn.Module):
    """models/l_mobilenet.hpp: stem, seven L bottlenecks, 1x1 head, classifier (38 weight layers)."""

    STAGES = [(24, 2), (24, 1), (48, 2), (48, 1), (96, 2), (96, 1), (128, 1)]

    def __init__(self, classes=10, channels=3, width=1.0):
        super().__init__()
        cin = make_divisible(16 * width)
        self.stem = ConvBN(channels, cin, 3)
        blocks = []
        for c, s in self.STAGES:
            cout = make_divisible(c * width)
            blocks.append(LBottleneck(cin, cout, s))
            cin = cout
        self.blocks = nn.Sequential(*blocks)
        head = make_divisible(512 * width)
        self.head = ConvBN(cin, head, 1)
        self.classifier = nn.Linear(head, classes)

    def forward(self, x):
        x = self.head(self.blocks(self.stem(x)))
        return self.classifier(x.mean([2, 3]))


def _replace_stem(conv, channels, stride):
    return nn.Conv2d(channels, conv.out_channels, conv.kernel_size, stride, conv.padding, bias=False)


def mobilenet_v2(classes=1000, channels=3, width=1.0, cifar=False):
    """torchvision's MobileNetV2; `cifar`: stem stride 1 and the 24-channel stage at stride 1."""
    m = torchvision.models.mobilenet_v2(num_classes=classes, width_mult=width)
    if cifar or channels != 3:
        m.features[0][0] = _replace_stem(m.features[0][0], channels, 1 if cifar else 2)
    if cifar:
        m.features[2].conv[1][0].stride = (1, 1)
    return m


def shufflenet_v2(classes=1000, channels=3, width=1.0, cifar=False):
    """torchvision's ShuffleNetV2 x0.5 / x1.0 / x1.5 / x2.0; `cifar`: stem stride 1, no max-pool."""
    build = {0.5: torchvision.models.shufflenet_v2_x0_5, 1.0: torchvision.models.shufflenet_v2_x1_0,
             1.5: torchvision.models.shufflenet_v2_x1_5, 2.0: torchvision.models.shufflenet_v2_x2_0}
    m = build[width](num_classes=classes)
    if cifar or channels != 3:
        m.conv1[0] = _replace_stem(m.conv1[0], channels, 1 if cifar else 2)
    if cifar:
        m.maxpool = nn.Identity()
    return m


class PlainCNN(nn.Module):
    """models/plain_cnn.hpp: VGG-style, three stages of two 3x3 conv-BN-ReLU."""

    def __init__(self, classes=10, channels=3, width=1.0):
        super().__init__()
        c1, c2, c3 = (make_divisible(c * width) for c in (16, 32, 64))
        relu = nn.ReLU
        self.features = nn.Sequential(
            ConvBN(channels, c1, 3, act=relu), ConvBN(c1, c1, 3, act=relu), nn.MaxPool2d(2),
            ConvBN(c1, c2, 3, act=relu), ConvBN(c2, c2, 3, act=relu), nn.MaxPool2d(2),
            ConvBN(c2, c3, 3, act=relu), ConvBN(c3, c3, 3, act=relu))
        self.classifier = nn.Linear(c3, classes)

    def forward(self, x):
        return self.classifier(self.features(x).mean([2, 3]))


class BasicBlock(nn.Module):
    """models/resnet_cifar.hpp's basic_block."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, 0, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        shortcut = x if self.downsample is None else self.downsample(x)
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(shortcut + self.bn2(self.conv2(y)))


class ResNetCifar(nn.Module):
    """models/resnet_cifar.hpp: 16/32/64 channels, `blocks_per_stage` basic blocks per stage."""

    def __init__(self, classes=10, channels=3, blocks_per_stage=1):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        layers, cin = [], 16
        for cout, stride in ((16, 1), (32, 2), (64, 2)):
            blocks = []
            for i in range(blocks_per_stage):
                blocks.append(BasicBlock(cin, cout, stride if i == 0 else 1))
                cin = cout
            layers.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = layers
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(x.mean([2, 3]))


# The Fashion-MNIST models: name -> constructor (1 input channel, 10 classes). The C++ presets with
# the same names live in include/lmnet/models/ and support/fashion_mnist_models.hpp.
FASHION_MNIST = {
    'l_mobilenet': lambda: LMobilenet(10, 1),
    'mobilenet_v2_cifar': lambda: mobilenet_v2(10, 1, cifar=True),
    'shufflenet_v2_cifar': lambda: shufflenet_v2(10, 1, cifar=True),
    'plain_cnn': lambda: PlainCNN(10, 1),
    'resnet8': lambda: ResNetCifar(10, 1, 1),
    'shufflenet_v2_x0_5_cifar': lambda: shufflenet_v2(10, 1, width=0.5, cifar=True),
    'mobilenet_v2_x0_5_cifar': lambda: mobilenet_v2(10, 1, width=0.5, cifar=True),
}
