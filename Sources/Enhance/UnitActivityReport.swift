import EnhanceImage
import EnhanceModels
import EnhanceNN
import Foundation

/// How often a model's rectified units fire on a dataset, each image prepared as the evaluation
/// prepares it (the bicubic or low-resolution Y for super-resolution, the JPEG-compressed Y at
/// the model's quality for deblocking): `enhance models --activity`. A unit that never fires is
/// dead (`Sequential.reviveUnits`).
public struct UnitActivityReport: Sendable, Encodable {
    public struct Layer: Sendable, Encodable {
        /// Index of the convolution in the network (its parameters are `"<layer>.weight"`).
        public let layer: Int
        public let units: Int
        /// Units that fired nowhere on the dataset.
        public let dead: [Int]
        /// Units that fired on fewer than 1 % of the positions (the dead ones included).
        public let rare: [Int]
        /// Per unit, the fraction of positions where it fired.
        public let activeFraction: [Double]
    }

    public let model: String
    public let dataset: String
    public let images: Int
    public let layers: [Layer]

    public static func measure(model: Model, dataset: URL, context: ComputeContext = .default) throws -> UnitActivityReport {
        let files = try ImageFolder.list(dataset)
        var sums: [Int: [Double]] = [:]
        var weight = 0.0
        for file in files {
            let image = try ImageIO.read(contentsOf: file)
            let input: Image
            if model.info.task == .deblocking {
                input = try DeblockProtocol.prepare(groundTruth: image, quality: model.info.jpegQuality ?? 20).compressedY
            } else {
                let sample = SRProtocol.prepare(groundTruth: image, scale: model.info.scale)
                input = model.info.architecture.takesUpscaledInput ? sample.bicubicY : sample.lowResolutionY
            }
            let pixels = Double(input.width * input.height)
            let tensor = Tensor(shape: [1, 1, input.height, input.width], storage: input.pixels)
            for a in model.network.unitActivity(tensor, context: context) {
                var s = sums[a.layer] ?? [Double](repeating: 0, count: a.activeFraction.count)
                for u in s.indices { s[u] += a.activeFraction[u] * pixels }
                sums[a.layer] = s
            }
            weight += pixels
        }
        let layers = sums.keys.sorted().map { l -> Layer in
            let f = sums[l]!.map { weight > 0 ? $0 / weight : 0 }
            return Layer(layer: l, units: f.count, dead: f.indices.filter { f[$0] == 0 },
                         rare: f.indices.filter { f[$0] < 0.01 }, activeFraction: f)
        }
        return UnitActivityReport(model: model.info.name, dataset: dataset.lastPathComponent, images: files.count, layers: layers)
    }
}
