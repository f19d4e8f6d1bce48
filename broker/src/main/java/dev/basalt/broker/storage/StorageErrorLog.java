package dev.basalt.broker.storage;

import dev.basalt.log.LogStorageException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;

/**
 * Rate-limited logging of storage errors on the request paths. A failing disk fails every request
 * of every partition on it: logged as is, a minute of full disk wrote 2,221 stack traces. Here an
 * error on an offline log is not logged at all ({@link StorageFaults} reported the replica once
 * when it went offline), and otherwise at most one line (with its stack trace) per key per
 * {@link #INTERVAL_MS}, the next one saying how many were suppressed meanwhile.
 *
 * <p>Thread-safety: thread-safe.
 */
public final class StorageErrorLog {
    static final long INTERVAL_MS = 60_000;
    /** Keys remembered; beyond this the map is cleared (a bound on memory, not on correctness). */
    static final int KEYS_MAX = 10_000;
    private static final ConcurrentHashMap<String, long[]> LAST = new ConcurrentHashMap<>();

    private StorageErrorLog() {
    }

    /**
     * Logs {@code e} for {@code key} (a partition, "append", ...) unless {@code offline} (already
     * reported) or logged for this key within the last minute.
     */
    public static void report(Logger log, String what, Object key, boolean offline, LogStorageException e) {
        if (offline) {
            return;
        }
        if (LAST.size() > KEYS_MAX) {
            LAST.clear();
        }
        long now = TimeUnit.NANOSECONDS.toMillis(System.nanoTime());
        long[] state = LAST.computeIfAbsent(String.valueOf(key), k -> new long[] {now - INTERVAL_MS - 1, 0});
        long suppressed;
        synchronized (state) {
            if (now - state[0] <= INTERVAL_MS) {
                state[1]++;
                return;
            }
            state[0] = now;
            suppressed = state[1];
            state[1] = 0;
        }
        if (suppressed > 0) {
            log.error("{} {} ({} more storage errors in the last minute were not logged)", what, key, suppressed, e);
        } else {
            log.error("{} {}", what, key, e);
        }
    }
}
