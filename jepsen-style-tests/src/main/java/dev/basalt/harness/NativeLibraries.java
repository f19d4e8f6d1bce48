package dev.basalt.harness;

import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import java.util.Optional;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * RocksDB's JNI library extracted once, for every node JVM the harness starts. Left to itself,
 * each node writes the 17 MB library into its temporary directory at start-up and maps it at
 * once; several nodes doing that together on a loaded machine crashed in the dynamic loader
 * (SIGBUS while mapping the just-written file). Nodes started with {@code -Djava.library.path}
 * pointing at one completely written, fsynced copy load it like any system library instead.
 *
 * <p>Thread-safety: thread-safe; the extraction runs once per JVM (synchronized), and a copy
 * written by another JVM is used only once it was renamed into place whole.
 */
public final class NativeLibraries {
    private static Optional<Path> rocksDbDir;

    private NativeLibraries() {
    }

    /** The directory holding the RocksDB JNI library for this platform, or empty when not found (nodes then extract it themselves). */
    public static synchronized Optional<Path> rocksDbDir() {
        if (rocksDbDir == null) {
            rocksDbDir = extract();
        }
        return rocksDbDir;
    }

    private static Optional<Path> extract() {
        String entryName = entryForPlatform();
        if (entryName == null) {
            return Optional.empty();
        }
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        for (String element : cp.split(java.io.File.pathSeparator)) {
            Path jar = Path.of(element);
            if (!jar.getFileName().toString().startsWith("rocksdbjni") || !element.endsWith(".jar")) {
                continue;
            }
            try (ZipFile zip = new ZipFile(jar.toFile())) {
                ZipEntry e = zip.getEntry(entryName);
                if (e == null) {
                    return Optional.empty();
                }
                String version = jar.getFileName().toString().replace(".jar", "");
                Path dir = Path.of(System.getProperty("java.io.tmpdir"), "basalt-native", version);
                Path target = dir.resolve(entryName);
                if (Files.isRegularFile(target) && Files.size(target) == e.getSize()) {
                    return Optional.of(dir);
                }
                Files.createDirectories(dir);
                Path partial = Files.createTempFile(dir, "partial-", ".so");
                try (InputStream in = zip.getInputStream(e)) {
                    Files.copy(in, partial, StandardCopyOption.REPLACE_EXISTING);
                }
                try (FileChannel ch = FileChannel.open(partial, StandardOpenOption.WRITE)) {
                    ch.force(true);
                }
                Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                return Optional.of(dir);
            } catch (IOException ex) {
                return Optional.empty();
            }
        }
        return Optional.empty();
    }

    private static String entryForPlatform() {
        String os = System.getProperty("os.name").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch").toLowerCase(Locale.ROOT);
        if (!os.contains("linux")) {
            return null;
        }
        // glibc builds; a musl system falls back to RocksDB's own extraction.
        if (arch.equals("amd64") || arch.equals("x86_64")) {
            return "librocksdbjni-linux64.so";
        }
        if (arch.equals("aarch64")) {
            return "librocksdbjni-linux-aarch64.so";
        }
        return null;
    }
}
