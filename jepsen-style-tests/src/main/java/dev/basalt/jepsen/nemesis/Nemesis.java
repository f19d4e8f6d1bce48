package dev.basalt.jepsen.nemesis;

/**
 * One fault: {@link #start()} puts it in place and {@link #heal()} removes it, each returning a
 * description of what it did (which nodes, which packets) for the history's nemesis ops. A
 * nemesis is started at most once and healed at most once, in that order.
 *
 * <p>Thread-safety: not thread-safe; the schedule runner's thread drives it.
 */
public interface Nemesis {
    String start();

    String heal();
}
