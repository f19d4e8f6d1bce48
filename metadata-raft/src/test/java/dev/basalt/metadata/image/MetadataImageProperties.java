package dev.basalt.metadata.image;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.basalt.metadata.MetadataSnapshots;
import dev.basalt.metadata.MetadataStateMachine;
import dev.basalt.metadata.delta.MetadataDelta;
import dev.basalt.metadata.testkit.RandomMetadataRecords;
import dev.basalt.proto.v1.MetadataRecord;
import dev.basalt.proto.v1.MetadataRecordBatch;
import dev.basalt.raft.testkit.LongTestsOnly;
import dev.basalt.raft.testkit.ReplayOnFailure;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AddLifecycleHook;

/**
 * Properties of image/delta replay over random valid record sequences (every record kind, from
 * {@link RandomMetadataRecords} driven by the seed): image → records → replay gives back the image
 * after every batch; how records are split into deltas does not change the result; a snapshot round
 * trip is exact; and a node restarting from a snapshot at a random offset plus the log tail reaches
 * the same image as one that replayed everything. The seed is a visible argument, so jqwik's report
 * (and the printed replay command) reproduces a failure exactly.
 */
@AddLifecycleHook(ReplayOnFailure.class)
class MetadataImageProperties {

    static List<List<MetadataRecord>> batches(long seed, int count) {
        RandomMetadataRecords generator = new RandomMetadataRecords(new Random(seed));
        MetadataImage image = MetadataImage.EMPTY;
        List<List<MetadataRecord>> batches = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            List<MetadataRecord> batch = generator.nextBatch(image);
            MetadataDelta delta = new MetadataDelta(image);
            delta.replayAll(batch);
            image = delta.apply();
            batches.add(batch);
        }
        return batches;
    }

    @Property(tries = 200)
    void imageToRecords_replaysToTheSameImage_afterEveryBatch(@ForAll long seed,
                                                              @ForAll @IntRange(min = 1, max = 80) int count) {
        MetadataImage image = MetadataImage.EMPTY;
        for (List<MetadataRecord> batch : batches(seed, count)) {
            MetadataDelta delta = new MetadataDelta(image);
            delta.replayAll(batch);
            image = delta.apply();
            MetadataDelta rebuild = new MetadataDelta(MetadataImage.EMPTY);
            rebuild.replayAll(image.toRecords());
            assertEquals(image, rebuild.apply());
            assertEquals(image.hashCode(), rebuild.apply().hashCode());
        }
    }

    @Property(tries = 200)
    void deltaBoundaries_doNotChangeTheResult(@ForAll long seed, @ForAll @IntRange(min = 1, max = 80) int count,
                                              @ForAll @IntRange(min = 1, max = 7) int batchesPerDelta) {
        List<List<MetadataRecord>> batches = batches(seed, count);
        MetadataDelta all = new MetadataDelta(MetadataImage.EMPTY);
        batches.forEach(all::replayAll);
        MetadataImage grouped = MetadataImage.EMPTY;
        for (int i = 0; i < batches.size(); i += batchesPerDelta) {
            MetadataDelta delta = new MetadataDelta(grouped);
            batches.subList(i, Math.min(batches.size(), i + batchesPerDelta)).forEach(delta::replayAll);
            grouped = delta.apply();
        }
        assertEquals(all.apply(), grouped);
    }

    @Property(tries = 200)
    void restartFromSnapshotPlusTail_equalsFullReplay(@ForAll long seed, @ForAll @IntRange(min = 1, max = 80) int count,
                                                      @ForAll @IntRange(min = 0, max = 80) int snapshotAt) {
        List<List<MetadataRecord>> batches = batches(seed, count);
        int cut = Math.min(snapshotAt, batches.size());
        MetadataStateMachine full = new MetadataStateMachine(1 << 20);
        byte[] snapshot = null;
        for (int i = 0; i < batches.size(); i++) {
            if (i == cut) {
                snapshot = full.snapshot();
            }
            full.applyBatch(i + 1, MetadataRecordBatch.newBuilder().addAllRecords(batches.get(i)).build().toByteArray());
        }
        if (snapshot == null) {
            snapshot = full.snapshot();
        }
        MetadataStateMachine restarted = new MetadataStateMachine(1 << 20);
        restarted.restore(snapshot);
        assertEquals(cut, restarted.appliedIndex());
        for (int i = cut; i < batches.size(); i++) {
            restarted.applyBatch(i + 1, MetadataRecordBatch.newBuilder().addAllRecords(batches.get(i)).build()
                    .toByteArray());
        }
        assertEquals(full.latest(), restarted.latest());
        MetadataSnapshots.Snapshot roundTrip = MetadataSnapshots.read(full.snapshot());
        assertEquals(full.image(), roundTrip.image());
        assertEquals(batches.size(), roundTrip.offset());
    }

    @Property(tries = 1000)
    @AddLifecycleHook(LongTestsOnly.class)
    void imageToRecords_long(@ForAll long seed, @ForAll @IntRange(min = 1, max = 250) int count) {
        imageToRecords_replaysToTheSameImage_afterEveryBatch(seed, count);
    }
}
