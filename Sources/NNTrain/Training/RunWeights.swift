import NNCore

extension Experiment {
    /// A safetensors file of a run, header first; a checksum, when the file has one (nntrain
    /// writes it, a file re-saved by PyTorch has none), must match.
    static func readWeights(_ path: String) throws(RunError) -> Safetensors.File {
        let file: Safetensors.File
        do { file = try Safetensors.read(path, limit: DataLimits.maxBytes) } catch let e as FileError {
            throw .data(DataError(file: e.path, e.reason))
        } catch let e as Safetensors.FormatError {
            throw .data(DataError(file: path, e.isNotSafetensors ? "is not a safetensors file (\(e.message))" : e.message))
        } catch {
            throw .data(DataError(file: path, "\(error)"))
        }
        if file.checksumMatches == false {
            throw .data(DataError(file: path, "is corrupt: its checksum does not match its contents (damaged or edited after it was written)"))
        }
        return file
    }
}

/// Equal shapes, where a scalar `[]` and `[1]` count as the same (torch's `num_batches_tracked`).
func sameShape(_ a: [Int], _ b: [Int]) -> Bool {
    a == b || (a.isEmpty && b == [1]) || (a == [1] && b.isEmpty)
}
