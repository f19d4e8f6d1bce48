package dev.basalt.log.recovery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.log.segment.FileLayer;
import dev.basalt.log.segment.Segment;
import dev.basalt.log.segment.SegmentFile;
import dev.basalt.log.testkit.TestBatches;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link LogVerifier} beside a running node, which cuts segment files under it (sealing or
 * shrinking its active segment) and deletes them (retention). Found probing: {@code basalt storage
 * check} on a live node's directory could kill its own process (SIGBUS in the CRC32C intrinsic,
 * reading a mapping past a file's new end). Reproduce with {@code ./mvnw -B -ntp -pl log-engine -am
 * verify -Dtest=LogVerifierCutFileTest -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class LogVerifierCutFileTest {
    private static final int PAGE_BYTES = 4096;

    @TempDir
    Path dir;

    /** A segment file of {@code batches} batches at offsets 0.., each about 650 bytes. */
    private Path writeSegment(int batches) throws IOException {
        Segment seg = Segment.createActive(FileLayer.DEFAULT, dir, 0, 1 << 20);
        try {
            for (int i = 0; i < batches; i++) {
                ByteBuffer b = TestBatches.batch(List.of(new TestBatches.Rec(1, "k" + i, "value-".repeat(100) + i)));
                b.putLong(0, i); // base offset (outside the CRC)
                seg.append(b);
            }
            seg.flush();
        } finally {
            seg.close();
        }
        return dir.resolve(Segment.fileName(0));
    }

    /**
     * Cuts the file right after each mapping of it, as a node sealing it would, to what {@code cut}
     * gives for the mapping's count (from 1) and size (negative: no cut).
     */
    private static FileLayer cuttingAfterMapping(java.util.function.LongBinaryOperator cut, AtomicInteger mapped) {
        return new FileLayer() {
            @Override
            public SegmentFile open(Path path, boolean create, boolean writable) throws IOException {
                SegmentFile f = FileLayer.DEFAULT.open(path, create, writable);
                return new SegmentFile() {
                    public Path path() {
                        return f.path();
                    }

                    public void writeFully(ByteBuffer src, long position) throws IOException {
                        f.writeFully(src, position);
                    }

                    public int read(ByteBuffer dst, long position) throws IOException {
                        return f.read(dst, position);
                    }

                    public void force() throws IOException {
                        f.force();
                    }

                    public long size() throws IOException {
                        return f.size();
                    }

                    public void truncate(long sizeBytes) throws IOException {
                        f.truncate(sizeBytes);
                    }

                    public MappedByteBuffer mapReadOnly(long sizeBytes) throws IOException {
                        MappedByteBuffer m = f.mapReadOnly(sizeBytes);
                        long to = cut.applyAsLong(mapped.incrementAndGet(), sizeBytes);
                        if (to >= 0) {
                            try (FileChannel ch = FileChannel.open(path, StandardOpenOption.WRITE)) {
                                ch.truncate(to);
                            }
                        }
                        return m;
                    }

                    public void close() throws IOException {
                        f.close();
                    }
                };
            }
        };
    }

    @Test
    void aSegmentCutShortUnderTheCheck_isCheckedAgainAtItsNewSize_notAFaultOrACrash() throws IOException {
        Path file = writeSegment(40);
        long written = Files.size(file);
        assertTrue(written > 3 * PAGE_BYTES, "the test needs batches past the cut: " + written);
        // cut at a page boundary: the batch across it is read past the file's end (a fault, not zeros)
        AtomicInteger mapped = new AtomicInteger();
        LogVerifier.Report r = LogVerifier.verify(dir, cuttingAfterMapping((n, size) -> n == 1 ? 2 * PAGE_BYTES : -1, mapped));

        assertEquals(2, mapped.get(), "read again once after the cut");
        // what the file holds now: the batches before the cut, and a batch cut short at its end
        assertEquals(1, r.segments());
        assertTrue(r.corruption() != null, r.toString());
        assertTrue(r.corruption().reason().startsWith("batch truncated"), r.toString());
        assertTrue(r.corruption().position() <= 2 * PAGE_BYTES && r.corruption().position() > PAGE_BYTES, r.toString());
        assertEquals(r.nextOffset(), r.batchesVerified(), "each batch counted once: " + r);
    }

    @Test
    void aSegmentCutAtEveryRead_isAnIOExceptionNamingIt() throws IOException {
        Path file = writeSegment(40);
        AtomicInteger mapped = new AtomicInteger();
        // each mapping is followed by a cut a page below the size it mapped
        FileLayer layer = cuttingAfterMapping((n, size) -> (size - PAGE_BYTES) / PAGE_BYTES * PAGE_BYTES, mapped);
        IOException e = org.junit.jupiter.api.Assertions.assertThrows(IOException.class, () -> LogVerifier.verify(dir, layer));
        assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("keeps being cut"), e.getMessage());
        assertEquals(LogVerifier.CUT_RETRIES_MAX + 1, mapped.get());
    }

    @Test
    void aSegmentDeletedSinceItWasListed_isLeftOut() throws IOException {
        Path file = writeSegment(3);
        assertNull(LogVerifier.readingCutFiles(file.resolveSibling("00000000000000000099.log"), size -> "read"));
        assertEquals("read " + Files.size(file), LogVerifier.readingCutFiles(file, size -> "read " + size));
    }
}
