package dev.basalt.broker.testsupport;

import dev.basalt.log.segment.FileLayer;
import dev.basalt.raft.log.StorageIo;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;

/**
 * TEST ONLY: where a node process picks its file layers and its wall clock. Off by default, these
 * return the production objects themselves ({@link FileLayer#DEFAULT}, {@link StorageIo#nio()},
 * {@link Clock#systemUTC()}), so nothing runs or costs anything.
 *
 * <ul>
 *   <li>{@code -Dbasalt.test.lazyfs=true}: both file seams go through one {@link LazyFs}; the line
 *       {@code lazyfs-crash} on the node's standard input discards every unsynced change and halts
 *       the JVM (exit code {@value #CRASH_EXIT_CODE}).</li>
 *   <li>{@code -Dbasalt.test.clock=true}: the node's wall clock is an {@link OffsetClock}; the line
 *       {@code clock-offset <ms>} sets its offset (absolute, may be negative).</li>
 * </ul>
 *
 * <p>The control lines arrive on standard input (the test harness holds the other end of the pipe)
 * and are read by one daemon thread, started only when a property is set. Unknown lines are
 * logged and ignored.
 *
 * <p>Thread-safety: thread-safe; state is created once in static initialisation.
 */
public final class TestHooks {
    public static final String LAZYFS_PROPERTY = "basalt.test.lazyfs";
    public static final String CLOCK_PROPERTY = "basalt.test.clock";
    public static final int CRASH_EXIT_CODE = 86;
    private static final int LINE_CHARS_MAX = 200;

    private static final LazyFs LAZY_FS = Boolean.getBoolean(LAZYFS_PROPERTY)
            ? new LazyFs(Path.of(System.getProperty("java.io.tmpdir"), "lazyfs-stash-" + ProcessHandle.current().pid()))
            : null;
    private static final OffsetClock CLOCK = Boolean.getBoolean(CLOCK_PROPERTY) ? new OffsetClock(Clock.systemUTC()) : null;
    private static final FileLayer FILE_LAYER = LAZY_FS == null ? FileLayer.DEFAULT : LazyFsFiles.fileLayer(LAZY_FS);
    private static final StorageIo STORAGE_IO = LAZY_FS == null ? StorageIo.nio() : LazyFsFiles.storageIo(LAZY_FS);

    private TestHooks() {
    }

    /** The log engine's file layer: {@link FileLayer#DEFAULT} unless lazyfs is on. */
    public static FileLayer fileLayer() {
        return FILE_LAYER;
    }

    /** The Raft store's file operations: {@link StorageIo#nio()} unless lazyfs is on. */
    public static StorageIo raftStorageIo() {
        return STORAGE_IO;
    }

    /** The node's wall clock: {@link Clock#systemUTC()} unless the clock hook is on. */
    public static Clock clock() {
        return CLOCK == null ? Clock.systemUTC() : CLOCK;
    }

    /** Wall-clock milliseconds of {@link #clock()} (for code that read System.currentTimeMillis). */
    public static long wallMillis() {
        return CLOCK == null ? System.currentTimeMillis() : CLOCK.millis();
    }

    /** Starts the standard-input control thread if a hook is on; does nothing otherwise. */
    public static void startControl() {
        if (LAZY_FS == null && CLOCK == null) {
            return;
        }
        Thread t = new Thread(TestHooks::readControl, "basalt-test-control");
        t.setDaemon(true);
        t.start();
        System.err.println("TEST HOOKS ON (never in production): lazyfs=" + (LAZY_FS != null) + " clock=" + (CLOCK != null));
    }

    private static void readControl() {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                handle(line.length() > LINE_CHARS_MAX ? line.substring(0, LINE_CHARS_MAX) : line.trim());
            }
        } catch (IOException e) {
            System.err.println("test control: standard input failed: " + e);
        }
    }

    static void handle(String line) {
        if (line.equals("lazyfs-crash") && LAZY_FS != null) {
            LAZY_FS.crash(CRASH_EXIT_CODE);
        } else if (line.startsWith("clock-offset ") && CLOCK != null) {
            try {
                long ms = Long.parseLong(line.substring("clock-offset ".length()).trim());
                CLOCK.offsetMs(ms);
                System.err.println("test control: wall clock offset now " + ms + " ms");
            } catch (NumberFormatException e) {
                System.err.println("test control: bad offset in '" + line + "'");
            }
        } else if (!line.isEmpty()) {
            System.err.println("test control: ignored '" + line + "'");
        }
    }
}
