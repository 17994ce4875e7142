import ArgumentParser
import Enhance
import EnhanceImage
import EnhanceModels
import EnhanceNN
import Foundation

/// The `enhance` command: a thin front end over the Enhance library.
public struct EnhanceCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "enhance",
        abstract: "Sharper, cleaner images with small convolutional networks (SRCNN, FSRCNN, AR-CNN) on the CPU.",
        subcommands: [UpscaleCommand.self, EvalCommand.self, TrainCommand.self, ModelsCommand.self, BenchCommand.self, DemoCommand.self, DenoiseCommand.self, ForwardCommand.self],
        defaultSubcommand: UpscaleCommand.self
    )

    public init() {}
}

/// Writes a line to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// JSON as the CLI prints it: sorted keys, infinities as "inf".
func jsonString(_ value: some Encodable) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.nonConformingFloatEncodingStrategy = Model.nonFiniteEncoding
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

/// Parses "2,3,4" into [2, 3, 4].
func parseIntList(_ text: String, option: String, allowed: ClosedRange<Int>) throws -> [Int] {
    var values: [Int] = []
    for part in text.split(separator: ",", omittingEmptySubsequences: false) {
        let trimmed = part.trimmingCharacters(in: .whitespaces)
        guard let v = Int(trimmed), allowed.contains(v) else {
            throw ValidationError("\(option): '\(trimmed)' is not a whole number in \(allowed.lowerBound)...\(allowed.upperBound)")
        }
        values.append(v)
    }
    return values
}

/// Runs `body`; an unreadable image, a missing dataset folder or a bad model file becomes one
/// `error: ...` line on standard error and exit status 1.
func reportingFileErrors<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as ImageIOError {
        printError("error: \(error.description)"); throw ExitCode.failure
    } catch let error as DatasetError {
        printError("error: \(error.description)"); throw ExitCode.failure
    } catch let error as ModelError {
        printError("error: \(error.message)"); throw ExitCode.failure
    } catch let error as WeightFileError {
        printError("error: \(error.description)"); throw ExitCode.failure
    }
}

/// Default location of the shared datasets: $ENHANCE_DATASETS, else ../shared/datasets.
func defaultDatasetsRoot() -> URL {
    if let env = ProcessInfo.processInfo.environment["ENHANCE_DATASETS"], !env.isEmpty {
        return URL(fileURLWithPath: env)
    }
    return URL(fileURLWithPath: "../shared/datasets")
}

/// A dataset argument: a folder path, or the name of a folder under the datasets root (`Set5`).
func resolveDataset(_ text: String) -> URL {
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: text, isDirectory: &isDirectory), isDirectory.boolValue {
        return URL(fileURLWithPath: text)
    }
    let named = defaultDatasetsRoot().appendingPathComponent(text)
    if FileManager.default.fileExists(atPath: named.path) { return named }
    return URL(fileURLWithPath: text)
}
