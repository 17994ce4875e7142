// swift-tools-version:6.0
import PackageDescription

// Hot loops need the host's vector units: without -target-cpu, SIMD fused multiply-add
// lowers to a libm call (about 150x slower). unsafeFlags are allowed in a root package only.
let fastMath: [SwiftSetting] = [
    .unsafeFlags(["-target-cpu", "haswell"]),
    .swiftLanguageMode(.v5),
]
let cFast: [CSetting] = [.unsafeFlags(["-O3", "-mavx2", "-mfma", "-mf16c"])]

let package = Package(
    name: "Enhance",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "Enhance", targets: ["Enhance", "EnhanceImage", "EnhanceNN", "EnhanceMetrics", "EnhanceModels"]),
        .library(name: "EnhanceTraining", targets: ["EnhanceTraining"]),
        .executable(name: "enhance", targets: ["enhance"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // C: libpng / libjpeg-turbo / libwebp wrappers. setjmp/longjmp error handling lives here.
        .target(
            name: "CCodecs",
            cSettings: [.unsafeFlags(["-O2"])],
            linkerSettings: [
                .linkedLibrary("png16"), .linkedLibrary("jpeg"),
                .linkedLibrary("webp"), .linkedLibrary("webpmux"), .linkedLibrary("webpdemux"),
            ]
        ),
        // C: SIGINT/SIGTERM recorded by an async-signal-safe handler, so long commands stop cleanly.
        .target(name: "CInterrupt", cSettings: [.unsafeFlags(["-O2"])]),
        // System library: OpenBLAS (cblas_sgemm).
        .systemLibrary(name: "CBLAS"),
        // Numeric core: tensors, layers, losses, optimizers, weight files. Knows nothing of images.
        .target(name: "EnhanceNN", dependencies: ["CBLAS"], swiftSettings: fastMath),
        // Planar float images, codecs, colour (BT.601), MATLAB-exact resampling.
        .target(name: "EnhanceImage", dependencies: ["CCodecs"], swiftSettings: fastMath),
        // PSNR, SSIM, PSNR-B, RMSE.
        .target(name: "EnhanceMetrics", dependencies: ["EnhanceImage"], swiftSettings: fastMath),
        // SRCNN, FSRCNN, AR-CNN: architecture + metadata + bundled weights.
        .target(
            name: "EnhanceModels",
            dependencies: ["EnhanceNN"],
            resources: [.copy("Weights")],
            swiftSettings: fastMath
        ),
        // The pipeline users call: upscaler (tiling, alpha, TTA), evaluation protocol.
        .target(
            name: "Enhance",
            dependencies: ["EnhanceNN", "EnhanceImage", "EnhanceMetrics", "EnhanceModels"],
            swiftSettings: fastMath
        ),
        // Datasets, degradations, augmentation, trainer, checkpoints.
        .target(name: "EnhanceTraining", dependencies: ["Enhance", "EnhanceMetrics"], swiftSettings: fastMath),
        // Command-line front end.
        .target(
            name: "EnhanceCLI",
            dependencies: [
                "Enhance", "EnhanceTraining", "CInterrupt",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: fastMath
        ),
        .executableTarget(name: "enhance", dependencies: ["EnhanceCLI", "EnhanceNN"], swiftSettings: fastMath),

        .testTarget(name: "EnhanceImageTests", dependencies: ["EnhanceImage"], resources: [.copy("Fixtures")], swiftSettings: fastMath),
        .testTarget(name: "EnhanceMetricsTests", dependencies: ["EnhanceMetrics", "Enhance"], swiftSettings: fastMath),
        .testTarget(name: "EnhanceNNTests", dependencies: ["EnhanceNN"], swiftSettings: fastMath),
        .testTarget(name: "EnhanceTests", dependencies: ["Enhance"], swiftSettings: fastMath),
        .testTarget(name: "EnhanceTrainingTests", dependencies: ["EnhanceTraining"], swiftSettings: fastMath),
        .testTarget(name: "EnhanceCLITests", dependencies: ["EnhanceCLI", "EnhanceNN"], swiftSettings: fastMath),
    ]
)
