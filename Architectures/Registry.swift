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

    public static func named(_ name: String) -> Architecture? {
        all.first { $0.name == name.lowercased() }
    }
}
