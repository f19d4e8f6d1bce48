package dev.basalt.raft.quorum;

import java.util.Map;
import java.util.TreeMap;

/**
 * The configurations held by the log (dissertation §4.1: a server uses the latest configuration in
 * its log, committed or not), indexed by the log index of their entry, on top of the configuration
 * in the latest snapshot. A log truncation reverts to the previous configuration. Mutable; used
 * only on the core's thread.
 */
public final class ConfigurationHistory {
    private long baseIndex;
    private Configuration base;
    private final TreeMap<Long, Configuration> entries = new TreeMap<>();

    public ConfigurationHistory(long baseIndex, Configuration base) {
        this.baseIndex = baseIndex;
        this.base = base;
    }

    public Configuration latest() {
        Map.Entry<Long, Configuration> last = entries.lastEntry();
        return last == null ? base : last.getValue();
    }

    /** Log index of the latest configuration's entry (the snapshot index for the base). */
    public long latestIndex() {
        Map.Entry<Long, Configuration> last = entries.lastEntry();
        return last == null ? baseIndex : last.getKey();
    }

    /** The configuration in force at {@code index} (the latest one at or before it). */
    public Configuration at(long index) {
        Map.Entry<Long, Configuration> e = entries.floorEntry(index);
        return e == null ? base : e.getValue();
    }

    /**
     * Whether {@code nodeId} is a voter in the configuration in force at {@code index} or in any
     * later one (those are not known to be committed yet).
     */
    public boolean isVoterSince(long index, int nodeId) {
        if (at(index).isVoter(nodeId)) {
            return true;
        }
        for (Configuration c : entries.tailMap(index, false).values()) {
            if (c.isVoter(nodeId)) {
                return true;
            }
        }
        return false;
    }

    public void add(long index, Configuration configuration) {
        if (index <= latestIndex()) {
            throw new IllegalStateException("configuration at " + index + " not after " + latestIndex());
        }
        entries.put(index, configuration);
    }

    /** Forgets configurations at {@code index} and later (their entries were truncated). */
    public void truncateFrom(long index) {
        entries.tailMap(index, true).clear();
    }

    /** Folds configurations up to {@code index} into the base (the log was compacted to it). */
    public void compactTo(long index, Configuration atIndex) {
        entries.headMap(index, true).clear();
        baseIndex = index;
        base = atIndex;
    }

    /** Replaces everything with a snapshot's configuration (entries after it are re-added by the caller). */
    public void reset(long index, Configuration configuration) {
        entries.clear();
        baseIndex = index;
        base = configuration;
    }
}
