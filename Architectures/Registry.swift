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
        EfficientNet.v1(0, width: 1.0, depth: 1.0, imageSize: 224),
        EfficientNet.v1(1, width: 1.0, depth: 1.1, imageSize: 240),
        EfficientNet.v1(2, width: 1.1, depth: 1.2, imageSize: 288),
        EfficientNet.v1(3, width: 1.2, depth: 1.4, imageSize: 300),
        EfficientNet.v1(4, width: 1.4, depth: 1.8, imageSize: 380),
        EfficientNet.v1(5, width: 1.6, depth: 2.2, imageSize: 456, norm: BatchNormSettings(eps: 1e-3, momentum: 0.01)),
        EfficientNet.v1(6, width: 1.8, depth: 2.6, imageSize: 528, norm: BatchNormSettings(eps: 1e-3, momentum: 0.01)),
        EfficientNet.v1(7, width: 2.0, depth: 3.1, imageSize: 600, norm: BatchNormSettings(eps: 1e-3, momentum: 0.01)),
        EfficientNet.v2("s", EfficientNet.v2S, imageSize: 384),
        EfficientNet.v2("m", EfficientNet.v2M, imageSize: 480),
        EfficientNet.v2("l", EfficientNet.v2L, imageSize: 480),
        BERT.architecture,
    ]

    public static func named(_ name: String) -> Architecture? {
        all.first { $0.name == name.lowercased() }
    }
}
