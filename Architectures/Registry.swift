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
        DenseNet.architecture("densenet121", growth: 32, blocks: [6, 12, 24, 16], initialFeatures: 64, summary: "DenseNet-121 (torchvision): dense blocks of BN-ReLU-conv, channel concatenation"),
        DenseNet.architecture("densenet161", growth: 48, blocks: [6, 12, 36, 24], initialFeatures: 96, summary: "DenseNet-161 (torchvision): growth rate 48"),
        DenseNet.architecture("densenet169", growth: 32, blocks: [6, 12, 32, 32], initialFeatures: 64, summary: "DenseNet-169 (torchvision): dense blocks of BN-ReLU-conv, channel concatenation"),
        DenseNet.architecture("densenet201", growth: 32, blocks: [6, 12, 48, 32], initialFeatures: 64, summary: "DenseNet-201 (torchvision): dense blocks of BN-ReLU-conv, channel concatenation"),
        Inception.googLeNet,
        Inception.v3,
        BERT.architecture,
    ]

    public static func named(_ name: String) -> Architecture? {
        all.first { $0.name == name.lowercased() }
    }
}
