package dev.basalt.log.internal;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.rocksdb.RocksDB;
import org.rocksdb.util.Environment;

/**
 * Loads RocksDB's JNI library once per library version, not once per start. Left to itself,
 * RocksDB writes its 17 MB library under a new random name into java.io.tmpdir at every start and
 * deletes it only on a clean exit, so every kill -9 leaves a copy behind (163 MB after a few crash
 * tests). Here the library is taken from java.library.path when it is there (bin/basalt and the
 * test harness extract it there), else extracted once into
 * {@code <java.io.tmpdir>/basalt-native/<rocksdbjni jar name>/}, whole (written to a temporary
 * file, fsynced, renamed), and loaded from there by every later start.
 *
 * <p>Thread-safety: thread-safe ({@link #load()} is synchronized; another process's copy is used
 * only once it was renamed into place complete).
 */
public final class RocksDbLibrary {
    private static boolean loaded;

    private RocksDbLibrary() {
    }

    /** Loads the library (idempotent). */
    public static synchronized void load() {
        if (loaded) {
            return;
        }
        // The jar's resource, and the name System.loadLibrary finds on java.library.path.
        String resource = Environment.getJniLibraryFileName("rocksdb");
        boolean onLibraryPath = false;
        for (String d : System.getProperty("java.library.path", "").split(File.pathSeparator)) {
            onLibraryPath |= !d.isBlank() && Files.isRegularFile(Path.of(d, resource));
        }
        Path extracted = onLibraryPath ? null : extractOnce(resource, Environment.getJniLibraryFileName("rocksdbjni"));
        if (extracted == null) {
            RocksDB.loadLibrary(); // from java.library.path (or, for unknown packaging, RocksDB's own extraction)
        } else {
            RocksDB.loadLibrary(List.of(extracted.toString()));
        }
        loaded = true;
    }

    /** The directory holding a complete copy of the library for this jar, or null if it cannot be made. */
    private static Path extractOnce(String resource, String fileName) {
        String version = jarName();
        Path dir = Path.of(System.getProperty("java.io.tmpdir"), "basalt-native", version);
        // the name RocksDB.loadLibrary(paths) loads from each directory
        Path target = dir.resolve(fileName);
        try (InputStream in = RocksDB.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                return null;
            }
            if (Files.isRegularFile(target) && Files.size(target) > 0) {
                return dir;
            }
            Files.createDirectories(dir);
            Path partial = Files.createTempFile(dir, "partial-", ".tmp");
            try {
                Files.copy(in, partial, StandardCopyOption.REPLACE_EXISTING);
                try (FileChannel ch = FileChannel.open(partial, StandardOpenOption.WRITE)) {
                    ch.force(true);
                }
                try {
                    Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING);
                }
            } finally {
                Files.deleteIfExists(partial);
            }
            return dir;
        } catch (IOException e) {
            // another process may have renamed its copy into place meanwhile
            return Files.isRegularFile(target) ? dir : null;
        }
    }

    /** The rocksdbjni jar's file name without .jar (its version), or the implementation version. */
    private static String jarName() {
        try {
            var src = RocksDB.class.getProtectionDomain().getCodeSource();
            if (src != null) {
                String name = Path.of(src.getLocation().toURI()).getFileName().toString();
                if (name.endsWith(".jar")) {
                    return name.substring(0, name.length() - 4);
                }
            }
        } catch (URISyntaxException | RuntimeException e) {
            // fall through
        }
        String v = RocksDB.class.getPackage().getImplementationVersion();
        return "rocksdbjni-" + (v == null ? "unknown" : v);
    }
}
