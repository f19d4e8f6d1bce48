package dev.basalt.metadata;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.metadata.testkit.RandomMetadataRecords;
import dev.basalt.proto.v1.MetadataRecordBatch;
import dev.basalt.raft.log.FileRaftStore;
import dev.basalt.raft.log.LogEntry;
import dev.basalt.raft.log.SnapshotMeta;
import dev.basalt.raft.testkit.ReplayOnFailure;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AddLifecycleHook;

/**
 * End to end through the real store: random metadata batches are appended to a {@link FileRaftStore}
 * as DATA entries (after a NOOP, as a new leader writes) and applied to a
 * {@link MetadataStateMachine}; at random points the state machine's snapshot is installed into the
 * store (compacting the log). Then the store is reopened and a fresh state machine restarts from the
 * stored snapshot plus the log tail: it must reach exactly the image and applied index of the node
 * that applied everything.
 */
@AddLifecycleHook(ReplayOnFailure.class)
class MetadataRestartProperties {

    @Property(tries = 30)
    void restartFromStoredSnapshotAndTail_equalsFullReplay(@ForAll long seed,
                                                           @ForAll @IntRange(min = 1, max = 60) int batches)
            throws IOException {
        Path dir = Files.createTempDirectory("metadata-restart");
        FileRaftStore.Config config = new FileRaftStore.Config(4096, 1 << 20, 1 << 24);
        Random random = new Random(seed);
        RandomMetadataRecords generator = new RandomMetadataRecords(new Random(~seed));
        MetadataStateMachine full = new MetadataStateMachine(1 << 20);
        try {
            try (FileRaftStore store = FileRaftStore.open(dir, config)) {
                LogEntry noop = new LogEntry(1, 1, LogEntry.EntryType.NOOP, new byte[0]);
                store.appendAndFlush(List.of(noop));
                full.apply(noop);
                for (int i = 0; i < batches; i++) {
                    byte[] data = MetadataRecordBatch.newBuilder().addAllRecords(generator.nextBatch(full.image()))
                            .build().toByteArray();
                    LogEntry entry = new LogEntry(1, store.lastIndex() + 1, LogEntry.EntryType.DATA, data);
                    store.appendAndFlush(List.of(entry));
                    full.apply(entry);
                    if (random.nextInt(8) == 0) {
                        store.installSnapshot(new SnapshotMeta(full.appliedIndex(), 1, Set.of(1), Set.of()),
                                full.snapshot());
                    }
                }
            }
            MetadataStateMachine restarted = new MetadataStateMachine(1 << 20);
            try (FileRaftStore store = FileRaftStore.open(dir, config)) {
                if (store.snapshot().lastIndex() > 0) {
                    restarted.restore(store.snapshotData());
                    assertEquals(store.snapshot().lastIndex(), restarted.appliedIndex());
                }
                store.entries(store.firstIndex(), store.lastIndex() + 1, Long.MAX_VALUE).forEach(restarted::apply);
            }
            assertEquals(full.latest(), restarted.latest());
            MetadataImage rebuilt = MetadataSnapshots.read(MetadataSnapshots.write(full.image(), 0)).image();
            assertEquals(full.image(), rebuilt);
        } finally {
            try (Stream<Path> files = Files.walk(dir)) {
                for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
    }
}
