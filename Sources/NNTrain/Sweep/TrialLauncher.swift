/// One trial the driver starts: the task, its attempt, and how to run it.
public struct TrialStart: Sendable, Equatable {
    /// The sweep directory.
    public var directory: String
    public var task: SweepTask
    /// The attempt the driver claimed in the ledger.
    public var attempt: Int
    /// BLAS threads for the trial.
    public var threads: Int
    /// Start over (a failed task tried again) instead of resuming from a checkpoint.
    public var fresh: Bool
    /// The trial's log file (`log.txt` in its run directory), for what the trial prints.
    public var log: String

    public init(directory: String, task: SweepTask, attempt: Int, threads: Int, fresh: Bool, log: String) {
        self.directory = directory; self.task = task; self.attempt = attempt
        self.threads = threads; self.fresh = fresh; self.log = log
    }
}

/// How a started trial ended, as its launcher saw it.
public struct TrialExit: Sendable, Equatable {
    /// The handle `TrialLauncher.start` returned.
    public var handle: Int32
    /// The exit code; nil when the trial was killed (by a signal).
    public var code: Int32?
    /// How it ended, for a failure's reason: `exit code 3`, `killed by signal 9 (…)`.
    public var description: String

    public init(handle: Int32, code: Int32?, description: String) {
        self.handle = handle; self.code = code; self.description = description
    }
}

/// A trial that could not be started; `description` becomes the failure's reason.
public struct TrialLaunchError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Starts a sweep's trials for `SweepDriver` and reports how they end. The CLI's launcher runs
/// each trial as a child `nntrain sweep trial` process; a test can run them in-process or fake
/// them. A trial records its own result in the ledger (`SweepTrial.run` and
/// `SweepLedger.record`): the driver records a failure for one that ends without a result,
/// unless the sweep is stopping or the trial exited with 130 or 143 (interrupted: its claim
/// goes stale and the next run resumes it).
public protocol TrialLauncher: AnyObject {
    /// Starts `trial`; returns a handle unique among the running trials.
    func start(_ trial: TrialStart) throws(TrialLaunchError) -> Int32
    /// A trial that has ended since the last call; nil when none has (never waits).
    func nextExit() -> TrialExit?
    /// Asks a running trial to stop after writing its checkpoint (it then exits, and
    /// `nextExit` reports it).
    func stop(_ handle: Int32)
}
