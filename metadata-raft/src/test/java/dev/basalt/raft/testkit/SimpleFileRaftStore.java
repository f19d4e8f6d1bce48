package dev.basalt.raft.testkit;

import dev.basalt.raft.log.HardState;
import dev.basalt.raft.log.LogEntry;
import dev.basalt.raft.log.RaftStorageException;
import dev.basalt.raft.log.RaftStore;
import dev.basalt.raft.log.SnapshotMeta;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.zip.CRC32C;

/**
 * A simple durable {@link RaftStore} for tests and benchmarks that need real fsyncs across
 * processes (the production store is the metadata branch's {@code FileRaftStore}). Not
 * thread-safe (one driver thread). Keeps every entry in memory as well.
 *
 * <p>Files in the directory, all big-endian:
 * <ul>
 *   <li>{@code log}: records {@code int length, int crc32c, long term, long index, int type, byte[] data}
 *       where length counts the bytes after the crc field and the crc covers them. A record that
 *       is cut short or fails its CRC ends the log: it and everything after it are truncated on
 *       open (a torn tail; nothing after it was acknowledged).</li>
 *   <li>{@code hardstate}: {@code long term, int votedFor, long commitIndex, int crc32c}.</li>
 *   <li>{@code snapshot}: {@code long lastIndex, long lastTerm, int voterCount, int[] voters,
 *       int observerCount, int[] observers, int dataLength, byte[] data, int crc32c}.</li>
 * </ul>
 * {@code hardstate} and {@code snapshot} are replaced atomically (temp file, fsync, rename, fsync
 * of the directory); compaction rewrites {@code log} the same way.
 */
public final class SimpleFileRaftStore implements RaftStore {
    private static final int HEADER_BYTES = 4 + 4;
    private static final int FIXED_BYTES = 8 + 8 + 4;

    private final Path dir;
    private FileChannel log;
    private final List<LogEntry> entries = new ArrayList<>();
    private final List<Long> positions = new ArrayList<>();
    private HardState hardState = HardState.INITIAL;
    private SnapshotMeta snapshot = SnapshotMeta.NONE;
    private byte[] snapshotData = new byte[0];

    public SimpleFileRaftStore(Path dir) {
        this.dir = dir;
        try {
            Files.createDirectories(dir);
            readHardState();
            readSnapshot();
            log = FileChannel.open(dir.resolve("log"), StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE);
            scanLog();
        } catch (IOException e) {
            throw new RaftStorageException("cannot open raft store in " + dir, e);
        }
    }

    @Override
    public HardState hardState() {
        return hardState;
    }

    @Override
    public void persistAndFlushHardState(HardState state) {
        ByteBuffer b = ByteBuffer.allocate(8 + 4 + 8 + 4);
        b.putLong(state.term()).putInt(state.votedFor()).putLong(state.commitIndex());
        b.putInt(crc(b.array(), 0, 20));
        replaceFile("hardstate", b.array());
        hardState = state;
    }

    @Override
    public long firstIndex() {
        return snapshot.lastIndex() + 1;
    }

    @Override
    public long lastIndex() {
        return snapshot.lastIndex() + entries.size();
    }

    @Override
    public Optional<Long> termAt(long index) {
        if (index == snapshot.lastIndex()) {
            return Optional.of(snapshot.lastTerm());
        }
        if (index < firstIndex() || index > lastIndex()) {
            return Optional.empty();
        }
        return Optional.of(entries.get((int) (index - firstIndex())).term());
    }

    @Override
    public List<LogEntry> entries(long fromIndex, long toIndex, long sizeBytesMax) {
        List<LogEntry> out = new ArrayList<>();
        long bytes = 0;
        for (long i = Math.max(fromIndex, firstIndex()); i < toIndex && i <= lastIndex(); i++) {
            LogEntry e = entries.get((int) (i - firstIndex()));
            bytes += e.data().length;
            if (!out.isEmpty() && bytes > sizeBytesMax) {
                break;
            }
            out.add(e);
        }
        return out;
    }

    @Override
    public void appendAndFlush(List<LogEntry> batch) {
        if (batch.isEmpty()) {
            return;
        }
        long start = batch.get(0).index();
        if (start < firstIndex() || start > lastIndex() + 1) {
            throw new IllegalArgumentException("append at " + start + " outside [" + firstIndex() + ", "
                    + (lastIndex() + 1) + "]");
        }
        try {
            int keep = (int) (start - firstIndex());
            if (keep < entries.size()) {
                log.truncate(positions.get(keep));
                entries.subList(keep, entries.size()).clear();
                positions.subList(keep, positions.size()).clear();
            }
            long position = log.size();
            int total = 0;
            for (LogEntry e : batch) {
                total += HEADER_BYTES + FIXED_BYTES + e.data().length;
            }
            ByteBuffer buf = ByteBuffer.allocate(total);
            for (LogEntry e : batch) {
                positions.add(position + buf.position());
                encode(buf, e);
                entries.add(e);
            }
            buf.flip();
            while (buf.hasRemaining()) {
                log.write(buf, position + buf.position());
            }
            log.force(false);
        } catch (IOException e) {
            throw new RaftStorageException("append failed in " + dir, e);
        }
    }

    @Override
    public SnapshotMeta snapshot() {
        return snapshot;
    }

    @Override
    public byte[] snapshotData() {
        return snapshotData;
    }

    @Override
    public void installSnapshot(SnapshotMeta meta, byte[] data) {
        Optional<Long> term = termAt(meta.lastIndex());
        List<LogEntry> kept = new ArrayList<>();
        if (term.isPresent() && term.get() == meta.lastTerm() && meta.lastIndex() >= snapshot.lastIndex()) {
            kept.addAll(entries.subList((int) (meta.lastIndex() - snapshot.lastIndex()), entries.size()));
        }
        ByteBuffer b = ByteBuffer.allocate(8 + 8 + 4 + 4 * meta.voters().size() + 4 + 4 * meta.observers().size()
                + 4 + data.length + 4);
        b.putLong(meta.lastIndex()).putLong(meta.lastTerm()).putInt(meta.voters().size());
        meta.voters().stream().sorted().forEach(b::putInt);
        b.putInt(meta.observers().size());
        meta.observers().stream().sorted().forEach(b::putInt);
        b.putInt(data.length).put(data);
        b.putInt(crc(b.array(), 0, b.position()));
        replaceFile("snapshot", b.array());
        snapshot = meta;
        snapshotData = data;
        rewriteLog(kept);
    }

    @Override
    public void close() {
        try {
            log.close();
        } catch (IOException e) {
            throw new RaftStorageException("close failed in " + dir, e);
        }
    }

    private void rewriteLog(List<LogEntry> kept) {
        try {
            int total = 0;
            for (LogEntry e : kept) {
                total += HEADER_BYTES + FIXED_BYTES + e.data().length;
            }
            ByteBuffer buf = ByteBuffer.allocate(total);
            entries.clear();
            positions.clear();
            for (LogEntry e : kept) {
                positions.add((long) buf.position());
                encode(buf, e);
                entries.add(e);
            }
            log.close();
            replaceFile("log", buf.array());
            log = FileChannel.open(dir.resolve("log"), StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new RaftStorageException("log rewrite failed in " + dir, e);
        }
    }

    private static void encode(ByteBuffer buf, LogEntry e) {
        int start = buf.position();
        buf.putInt(FIXED_BYTES + e.data().length).putInt(0);
        buf.putLong(e.term()).putLong(e.index()).putInt(e.type().code()).put(e.data());
        buf.putInt(start + 4, crc(buf.array(), start + HEADER_BYTES, FIXED_BYTES + e.data().length));
    }

    private void scanLog() throws IOException {
        ByteBuffer all = ByteBuffer.allocate((int) log.size());
        while (all.hasRemaining() && log.read(all, all.position()) > 0) {
            // read the whole file
        }
        all.flip();
        long expected = firstIndex();
        while (all.remaining() >= HEADER_BYTES) {
            int start = all.position();
            int length = all.getInt();
            int crc = all.getInt();
            if (length < FIXED_BYTES || length > all.remaining()
                    || crc(all.array(), start + HEADER_BYTES, length) != crc) {
                all.position(start);
                break;
            }
            long term = all.getLong();
            long index = all.getLong();
            int type = all.getInt();
            byte[] data = new byte[length - FIXED_BYTES];
            all.get(data);
            if (index != expected) {
                throw new RaftStorageException("log in " + dir + " has entry " + index + " where " + expected
                        + " was expected");
            }
            positions.add((long) start);
            entries.add(new LogEntry(term, index, LogEntry.EntryType.fromCode(type), data));
            expected++;
        }
        if (all.position() < log.size()) {
            log.truncate(all.position()); // torn tail
            log.force(false);
        }
    }

    private void readHardState() throws IOException {
        Path p = dir.resolve("hardstate");
        if (!Files.exists(p)) {
            return;
        }
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(p));
        if (b.remaining() != 24 || crc(b.array(), 0, 20) != b.getInt(20)) {
            throw new RaftStorageException("corrupt hard state in " + dir);
        }
        hardState = new HardState(b.getLong(), b.getInt(), b.getLong());
    }

    private void readSnapshot() throws IOException {
        Path p = dir.resolve("snapshot");
        if (!Files.exists(p)) {
            return;
        }
        byte[] raw = Files.readAllBytes(p);
        ByteBuffer b = ByteBuffer.wrap(raw);
        if (raw.length < 32 || crc(raw, 0, raw.length - 4) != b.getInt(raw.length - 4)) {
            throw new RaftStorageException("corrupt snapshot in " + dir);
        }
        long lastIndex = b.getLong();
        long lastTerm = b.getLong();
        Set<Integer> voters = new HashSet<>();
        for (int i = b.getInt(); i > 0; i--) {
            voters.add(b.getInt());
        }
        Set<Integer> observers = new HashSet<>();
        for (int i = b.getInt(); i > 0; i--) {
            observers.add(b.getInt());
        }
        byte[] data = new byte[b.getInt()];
        b.get(data);
        snapshot = new SnapshotMeta(lastIndex, lastTerm, voters, observers);
        snapshotData = data;
    }

    private void replaceFile(String name, byte[] content) {
        Path tmp = dir.resolve(name + ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer b = ByteBuffer.wrap(content);
                while (b.hasRemaining()) {
                    ch.write(b);
                }
                ch.force(true);
            }
            Files.move(tmp, dir.resolve(name), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
                d.force(true);
            }
        } catch (IOException e) {
            throw new RaftStorageException("cannot write " + name + " in " + dir, e);
        }
    }

    private static int crc(byte[] data, int offset, int length) {
        CRC32C c = new CRC32C();
        c.update(data, offset, length);
        return (int) c.getValue();
    }
}
