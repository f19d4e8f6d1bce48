package dev.basalt.raft.driver;

/**
 * Called once when a node hits a fault it must not survive: a storage error (the node may have
 * lost its promise to remember votes and entries) or a broken invariant. By then the node has
 * already stopped voting, leading and answering. A process-level handler typically logs and
 * halts the JVM ({@link #HALT}); tests record the fault. Called on the failing node's driver
 * thread; implementations must be thread-safe if shared between nodes.
 */
@FunctionalInterface
public interface FatalFaultHandler {
    /** Logs to stderr and halts the JVM with status 70 (EX_SOFTWARE). */
    FatalFaultHandler HALT = (nodeId, cause) -> {
        System.err.println("raft node " + nodeId + ": fatal fault, halting: " + cause);
        cause.printStackTrace(System.err);
        Runtime.getRuntime().halt(70);
    };

    void onFatalFault(int nodeId, Throwable cause);
}
