import NNCore

/// TensorBoard's event file of a run (`output.tensorboard`, `--tensorboard`):
/// `events.out.tfevents.<unix seconds>.<host name>` in the run directory, a TFRecord file
/// (`TFRecord`) of serialized `Event` protos (tensorboard/compat/proto/event.proto and
/// summary.proto):
///
///     Event   { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
///     Summary { repeated Value value = 1; }
///     Value   { string tag = 1; float simple_value = 2; }
///
/// The first event is `file_version: "brain.Event:2"`. TensorBoard's x axis is the global step,
/// so every scalar is written at one:
/// - each steps.csv row, when it is written: `step/loss`, `step/lr`, `step/grad_norm` at its step;
/// - each curves.csv row, when it is written: `loss`, `accuracy`, `val_loss`, `val_accuracy`,
///   `lr` (the columns it has) at the epoch's last step (the row's `step`).
///
/// Values are float32, as TensorBoard keeps them. The buffers are kept between events, so
/// writing one allocates nothing once they have grown.
public final class TensorBoardWriter {
    public static let filePrefix = "events.out.tfevents."
    public static let fileVersion = "brain.Event:2"

    public let path: String
    private let file: AppendFile
    private var summary: [UInt8] = []
    private var event: [UInt8] = []
    private var record: [UInt8] = []

    /// Creates a new event file in `directory` and writes the file-version event.
    public init(newIn directory: String) throws(FileError) {
        let now = Runtime.wallTime()
        path = directory + "/" + TensorBoardWriter.filePrefix + "\(Int64(now.rounded(.down))).\(Runtime.hostName)"
        file = try AppendFile(path: path)
        reserve()
        event.removeAll(keepingCapacity: true)
        Protobuf.appendDouble(1, now, to: &event)
        Protobuf.appendInt64(2, 0, to: &event)
        Protobuf.appendBytes(3, TensorBoardWriter.fileVersion.utf8, to: &event)
        try flush()
    }

    /// Appends to an existing event file (a resumed run).
    public init(appendingTo path: String) throws(FileError) {
        self.path = path
        file = try AppendFile(path: path)
        reserve()
    }

    private func reserve() {
        summary.reserveCapacity(256)
        event.reserveCapacity(512)
        record.reserveCapacity(512)
    }

    /// The scalars of one steps.csv row.
    public func writeStep(step: Int, lr: Float, loss: Double, gradNorm: Double?) throws(FileError) {
        summary.removeAll(keepingCapacity: true)
        value("step/loss", Float(loss))
        value("step/lr", lr)
        if let g = gradNorm { value("step/grad_norm", Float(g)) }
        try writeSummary(step: step)
    }

    /// The scalars of one curves.csv row, at the epoch's last step.
    public func writeEpoch(_ row: CurveRow) throws(FileError) {
        summary.removeAll(keepingCapacity: true)
        value("loss", Float(row.loss))
        if let a = row.accuracy { value("accuracy", Float(a)) }
        if let v = row.valLoss { value("val_loss", Float(v)) }
        if let v = row.valAccuracy { value("val_accuracy", Float(v)) }
        value("lr", row.lr)
        try writeSummary(step: row.step)
    }

    /// One `Summary.Value` (tag, simple_value) appended to `summary`.
    private func value(_ tag: StaticString, _ v: Float) {
        let n = tag.utf8CodeUnitCount   // every tag is under 128 bytes: one length byte
        Protobuf.appendKey(1, wireType: 2, to: &summary)
        Protobuf.appendVarint(UInt64(2 + n + 5), to: &summary)
        Protobuf.appendBytes(1, UnsafeBufferPointer(start: tag.utf8Start, count: n), to: &summary)
        Protobuf.appendFloat(2, v, to: &summary)
    }

    private func writeSummary(step: Int) throws(FileError) {
        event.removeAll(keepingCapacity: true)
        Protobuf.appendDouble(1, Runtime.wallTime(), to: &event)
        Protobuf.appendInt64(2, Int64(step), to: &event)
        Protobuf.appendBytes(5, summary, to: &event)
        try flush()
    }

    private func flush() throws(FileError) {
        record.removeAll(keepingCapacity: true)
        TFRecord.append(event, to: &record)
        try file.write(record)
    }

    // MARK: - The event files of a run directory

    /// The paths of the event files in `directory`, oldest name first.
    public static func eventFiles(in directory: String) -> [String] {
        FileIO.listDirectory(directory).filter { $0.hasPrefix(filePrefix) }.map { directory + "/" + $0 }
    }

    /// The step of an event record (0 when it has none, like the file-version event); nil when
    /// the record is not an `Event`.
    public static func step(ofEvent data: [UInt8]) -> Int64? {
        guard let fields = Protobuf.fields(data) else { return nil }
        let step = fields.last { $0.number == 2 && $0.wireType == 0 }
        return step.map { Int64(bitPattern: $0.value) } ?? 0
    }

    /// For `--resume`: drops from an event file the events after `lastStep` (written after the
    /// checkpoint, and written again as the run continues) and a torn last record, as
    /// `RunFiles(resuming:)` does with steps.csv. The file is replaced atomically, and only
    /// when something goes.
    public static func trim(_ path: String, lastStep: Int) throws(FileError) {
        let bytes = try FileIO.read(path, limit: 1 << 30)   // an event file of nntrain runs: far below 1 GiB
        let (records, end) = TFRecord.records(bytes)
        var kept: [UInt8] = []
        var dropped = end != bytes.count
        for r in records {
            if let s = step(ofEvent: r), s <= Int64(lastStep) { TFRecord.append(r, to: &kept) } else { dropped = true }
        }
        if dropped { try FileIO.writeAtomically(path, kept) }
    }
}
