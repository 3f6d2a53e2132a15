import CSupport

// The C process primitives (CSupport) for the layers above NNCore: the CLI starts sweep trials
// with them (its `ChildProcess`); the policy of what to start lives there, not here.
extension Runtime {
    /// Starts `path` with `argv` (NULL-terminated, argv[0] included); stdout and stderr are
    /// appended to `log` when given. The pid, or −1 with errno set.
    public static func spawn(_ path: String, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>, log: String?) -> Int32 {
        if let log { return log.withCString { nn_spawn(path, argv, $0) } }
        return nn_spawn(path, argv, nil)
    }

    /// Collects one finished child (`pid`, or any when −1): its pid (0: none yet, when not
    /// `block`; < 0: no child), its exit code (−1 when a signal ended it) and the signal.
    public static func waitChild(_ pid: Int32, block: Bool) -> (pid: Int32, code: Int32, signal: Int32) {
        var code: Int32 = 0, sig: Int32 = 0
        let r = nn_wait_child(pid, block ? 1 : 0, &code, &sig)
        return (r, code, sig)
    }

    /// Asks the kernel to send `signal` to this process when its parent exits (Linux).
    @discardableResult
    public static func setParentDeathSignal(_ signal: Int32) -> Bool { nn_set_parent_death_signal(signal) != 0 }

    /// Sends `signal` to `pid`.
    public static func sendSignal(_ signal: Int32, to pid: Int32) { _ = nn_kill(pid, signal) }
}
