package dev.basalt.log.recovery;

import dev.basalt.log.index.IndexWriter;
import dev.basalt.log.index.LeaderEpochCache;
import dev.basalt.log.segment.Segment;
import java.util.List;

/**
 * What loading a partition directory produced: its segments (the last one active), offsets and
 * the rebuilt or loaded epoch cache. Handed once from {@link LogLoader} to the log that owns it,
 * which takes ownership of the segments; not shared between threads before that hand-over.
 *
 * @param recovered    true if a scan ran (unclean shutdown or a missing index)
 * @param gapsPossible whether the log may have offsets missing between batches (see PartitionState)
 */
public record LoadedLog(List<Segment> segments, long logStartOffset, long logEndOffset, long recoveryPoint,
                        long highWatermark, LeaderEpochCache epochs, IndexWriter indexWriter, boolean recovered,
                        boolean gapsPossible) {
}
