// swift-tools-version:6.0
// nntrain: a command-line training and experiment runner for neural networks.
// No package dependencies: the toolchain plus system C libraries (OpenBLAS, zlib).
import PackageDescription

let releaseSwiftFlags: [SwiftSetting] = [
    // Hot loops run on unsafe buffer pointers; exclusivity checks there cost time and buy nothing.
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "nntrain",
    products: [
        .executable(name: "nntrain", targets: ["nntrain"]),
        .library(name: "NNTrain", targets: ["NNTrain"]),
    ],
    targets: [
        // MARK: - System libraries
        .systemLibrary(
            name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(
            name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        // A few lines of C the Swift side cannot express (the x86 MXCSR register).
        .target(name: "CSupport", path: "Sources/CSupport"),

        // MARK: - Library modules
        .target(
            name: "NNCore",
            dependencies: [
                .target(name: "CBLAS", condition: .when(platforms: [.linux])),
                "CSupport",
            ],
            swiftSettings: releaseSwiftFlags,
            linkerSettings: [.linkedFramework("Accelerate", .when(platforms: [.macOS]))]),
        .target(name: "NNTrain", dependencies: ["NNCore", "CZlib"], swiftSettings: releaseSwiftFlags),
        .target(name: "NNTestSupport", dependencies: ["NNCore", "NNTrain"]),
        .executableTarget(name: "nntrain", dependencies: ["NNTrain"], swiftSettings: releaseSwiftFlags),

        // MARK: - Tests
        .testTarget(name: "NNCoreTests", dependencies: ["NNCore", "NNTestSupport"]),
        .testTarget(
            name: "NNTrainTests", dependencies: ["NNTrain", "NNCore", "NNTestSupport"],
            exclude: ["Fixtures"]),
        .testTarget(name: "CLITests", dependencies: ["NNCore"]),
    ]
)
