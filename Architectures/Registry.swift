// Every architecture zoo knows. Adding one is a file in this folder and a line here; the tests
// run over this list, so a new entry is tested without new test code.
import ZooGraph

public enum Registry {
    public static let all: [Architecture] = [
        ResNet.architecture("resnet18", .basic, [2, 2, 2, 2], summary: "ResNet-18 (torchvision), basic blocks"),
        ResNet.architecture("resnet34", .basic, [3, 4, 6, 3], summary: "ResNet-34 (torchvision), basic blocks"),
        ResNet.architecture("resnet50", .bottleneck, [3, 4, 6, 3], summary: "ResNet-50 v1.5 (torchvision), bottlenecks"),
        ResNet.architecture("resnet101", .bottleneck, [3, 4, 23, 3], summary: "ResNet-101 v1.5 (torchvision), bottlenecks"),
        ResNet.architecture("resnet152", .bottleneck, [3, 8, 36, 3], summary: "ResNet-152 v1.5 (torchvision), bottlenecks"),
        ResNet.architecture("resnext50_32x4d", .bottleneck, [3, 4, 6, 3], groups: 32, widthPerGroup: 4,
                            summary: "ResNeXt-50 32×4d (torchvision), grouped 3×3 convs"),
        ResNet.architecture("wide_resnet50_2", .bottleneck, [3, 4, 6, 3], widthPerGroup: 128,
                            summary: "Wide ResNet-50-2 (torchvision), doubled bottleneck width"),
        ResNet.architecture("resnext101_32x8d", .bottleneck, [3, 4, 23, 3], groups: 32, widthPerGroup: 8,
                            summary: "ResNeXt-101 32×8d (torchvision), grouped 3×3 convs"),
        ResNet.architecture("resnext101_64x4d", .bottleneck, [3, 4, 23, 3], groups: 64, widthPerGroup: 4,
                            summary: "ResNeXt-101 64×4d (torchvision), grouped 3×3 convs"),
        ResNet.architecture("wide_resnet101_2", .bottleneck, [3, 4, 23, 3], widthPerGroup: 128,
                            summary: "Wide ResNet-101-2 (torchvision), doubled bottleneck width"),
        VGG.architecture("vgg11", "A", batchNorm: false, summary: "VGG-11 (torchvision, configuration A)"),
        VGG.architecture("vgg13", "B", batchNorm: false, summary: "VGG-13 (torchvision, configuration B)"),
        VGG.architecture("vgg16", "D", batchNorm: false, summary: "VGG-16 (torchvision); same function as keras.applications.VGG16"),
        VGG.architecture("vgg19", "E", batchNorm: false, summary: "VGG-19 (torchvision); same function as keras.applications.VGG19"),
        VGG.architecture("vgg11_bn", "A", batchNorm: true, summary: "VGG-11 with BatchNorm (torchvision)"),
        VGG.architecture("vgg13_bn", "B", batchNorm: true, summary: "VGG-13 with BatchNorm (torchvision)"),
        VGG.architecture("vgg16_bn", "D", batchNorm: true, summary: "VGG-16 with BatchNorm (torchvision)"),
        VGG.architecture("vgg19_bn", "E", batchNorm: true, summary: "VGG-19 with BatchNorm (torchvision)"),
        AlexNet.architecture,
        MobileNet.v2(),
        MobileNet.v3("mobilenet_v3_large", MobileNet.large, lastChannel: 1280, summary: "MobileNetV3-Large (torchvision): SE with hard-sigmoid, hard-swish"),
        MobileNet.v3("mobilenet_v3_small", MobileNet.small, lastChannel: 1024, summary: "MobileNetV3-Small (torchvision): SE with hard-sigmoid, hard-swish"),
        RegNet.architecture("regnet_x_400mf", .init(depth: 22, w0: 24, wa: 24.48, wm: 2.54, groupWidth: 16),
                            summary: "RegNetX-400MF (torchvision): grouped bottlenecks"),
        RegNet.architecture("regnet_x_800mf", .init(depth: 16, w0: 56, wa: 35.73, wm: 2.28, groupWidth: 16),
                            summary: "RegNetX-800MF (torchvision): grouped bottlenecks"),
        RegNet.architecture("regnet_x_1_6gf", .init(depth: 18, w0: 80, wa: 34.01, wm: 2.25, groupWidth: 24),
                            summary: "RegNetX-1.6GF (torchvision): grouped bottlenecks"),
        RegNet.architecture("regnet_x_3_2gf", .init(depth: 25, w0: 88, wa: 26.31, wm: 2.25, groupWidth: 48),
                            summary: "RegNetX-3.2GF (torchvision): grouped bottlenecks"),
        RegNet.architecture("regnet_x_8gf", .init(depth: 23, w0: 80, wa: 49.56, wm: 2.88, groupWidth: 120),
                            summary: "RegNetX-8GF (torchvision): grouped bottlenecks"),
        RegNet.architecture("regnet_x_16gf", .init(depth: 22, w0: 216, wa: 55.59, wm: 2.1, groupWidth: 128),
                            summary: "RegNetX-16GF (torchvision): grouped bottlenecks"),
        RegNet.architecture("regnet_x_32gf", .init(depth: 23, w0: 320, wa: 69.86, wm: 2.0, groupWidth: 168),
                            summary: "RegNetX-32GF (torchvision): grouped bottlenecks"),
        RegNet.architecture("regnet_y_400mf", .init(depth: 16, w0: 48, wa: 27.89, wm: 2.09, groupWidth: 8, seRatio: 0.25),
                            summary: "RegNetY-400MF (torchvision): grouped bottlenecks with squeeze-and-excitation"),
        RegNet.architecture("regnet_y_800mf", .init(depth: 14, w0: 56, wa: 38.84, wm: 2.4, groupWidth: 16, seRatio: 0.25),
                            summary: "RegNetY-800MF (torchvision): grouped bottlenecks with squeeze-and-excitation"),
        RegNet.architecture("regnet_y_1_6gf", .init(depth: 27, w0: 48, wa: 20.71, wm: 2.65, groupWidth: 24, seRatio: 0.25),
                            summary: "RegNetY-1.6GF (torchvision): grouped bottlenecks with squeeze-and-excitation"),
        RegNet.architecture("regnet_y_3_2gf", .init(depth: 21, w0: 80, wa: 42.63, wm: 2.66, groupWidth: 24, seRatio: 0.25),
                            summary: "RegNetY-3.2GF (torchvision): grouped bottlenecks with squeeze-and-excitation"),
        RegNet.architecture("regnet_y_8gf", .init(depth: 17, w0: 192, wa: 76.82, wm: 2.19, groupWidth: 56, seRatio: 0.25),
                            summary: "RegNetY-8GF (torchvision): grouped bottlenecks with squeeze-and-excitation"),
        RegNet.architecture("regnet_y_16gf", .init(depth: 18, w0: 200, wa: 106.23, wm: 2.48, groupWidth: 112, seRatio: 0.25),
                            summary: "RegNetY-16GF (torchvision): grouped bottlenecks with squeeze-and-excitation"),
        RegNet.architecture("regnet_y_32gf", .init(depth: 20, w0: 232, wa: 115.89, wm: 2.53, groupWidth: 232, seRatio: 0.25),
                            summary: "RegNetY-32GF (torchvision): grouped bottlenecks with squeeze-and-excitation"),
        RegNet.architecture("regnet_y_128gf", .init(depth: 27, w0: 456, wa: 160.83, wm: 2.52, groupWidth: 264, seRatio: 0.25),
                            summary: "RegNetY-128GF (torchvision): grouped bottlenecks with squeeze-and-excitation"),
        MNASNet.architecture("mnasnet0_5", alpha: 0.5, summary: "MNASNet-B1 ×0.5 (torchvision): inverted residuals, depthwise 3×3/5×5"),
        MNASNet.architecture("mnasnet0_75", alpha: 0.75, summary: "MNASNet-B1 ×0.75 (torchvision): inverted residuals, depthwise 3×3/5×5"),
        MNASNet.architecture("mnasnet1_0", alpha: 1.0, summary: "MNASNet-B1 ×1.0 (torchvision): inverted residuals, depthwise 3×3/5×5"),
        MNASNet.architecture("mnasnet1_3", alpha: 1.3, summary: "MNASNet-B1 ×1.3 (torchvision): inverted residuals, depthwise 3×3/5×5"),
        ConvNeXt.architecture("convnext_tiny", ConvNeXt.tiny, summary: "ConvNeXt-Tiny (torchvision): depthwise 7×7, LayerNorm, GELU, layer scale"),
        ConvNeXt.architecture("convnext_small", ConvNeXt.small, summary: "ConvNeXt-Small (torchvision): depthwise 7×7, LayerNorm, GELU, layer scale"),
        ConvNeXt.architecture("convnext_base", ConvNeXt.base, summary: "ConvNeXt-Base (torchvision): depthwise 7×7, LayerNorm, GELU, layer scale"),
        ConvNeXt.architecture("convnext_large", ConvNeXt.large, summary: "ConvNeXt-Large (torchvision): depthwise 7×7, LayerNorm, GELU, layer scale"),
        ShuffleNetV2.architecture("shufflenet_v2_x0_5", channels: [24, 48, 96, 192, 1024], summary: "ShuffleNetV2 ×0.5 (torchvision): channel split and shuffle"),
        ShuffleNetV2.architecture("shufflenet_v2_x1_0", channels: [24, 116, 232, 464, 1024], summary: "ShuffleNetV2 ×1.0 (torchvision): channel split and shuffle"),
        ShuffleNetV2.architecture("shufflenet_v2_x1_5", channels: [24, 176, 352, 704, 1024], summary: "ShuffleNetV2 ×1.5 (torchvision): channel split and shuffle"),
        ShuffleNetV2.architecture("shufflenet_v2_x2_0", channels: [24, 244, 488, 976, 2048], summary: "ShuffleNetV2 ×2.0 (torchvision): channel split and shuffle"),
        SqueezeNet.architecture("squeezenet1_0", .v1_0, summary: "SqueezeNet 1.0 (torchvision): Fire modules, ceil-mode max pools"),
        SqueezeNet.architecture("squeezenet1_1", .v1_1, summary: "SqueezeNet 1.1 (torchvision): Fire modules, ceil-mode max pools, 3×3 stem"),
        BERT.architecture,
    ]

    /// The architectures the test command proves against the real frameworks (scripts/interop.sh
    /// --ci) and the CI-sized nightly runs: every family, with each distinct block type, layer kind
    /// and lowering of its variants; the other variants differ only in sizes and depths, and the
    /// nightly run (scripts/nightly.sh) proves every one.
    public static let provenInCI: Set<String> = [
        "resnet18", "resnext50_32x4d", "vgg11_bn", "vgg16", "alexnet", "mobilenet_v2", "mobilenet_v3_small",
        "regnet_x_400mf", "regnet_y_400mf", "mnasnet0_5", "bert",
        "efficientnet_b0", "efficientnet_v2_s", "densenet121", "googlenet", "inception_v3",
        "convnext_tiny", "shufflenet_v2_x0_5", "squeezenet1_0", "squeezenet1_1",
    ]

    public static func named(_ name: String) -> Architecture? {
        all.first { $0.name == name.lowercased() }
    }
}
