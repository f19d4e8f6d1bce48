package dev.basalt.raft.quorum;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.util.Collection;
import java.util.Collections;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * The membership of the quorum (Raft paper §6, dissertation §4.1): the voters, whose majority
 * decides elections and commitment, and the observers, non-voting members (brokers) that receive
 * committed entries. Immutable and thread-safe. Sets are sorted so that iteration order, and hence
 * the order of messages the core emits, is deterministic.
 *
 * <p>Encoding (the payload of a {@code CONFIGURATION} log entry), big-endian:
 * {@code int version (=1), int voterCount, int[voterCount] voterIds, int observerCount,
 * int[observerCount] observerIds}. Ids are non-negative; a node is never both voter and observer.
 */
public final class Configuration {
    /** Largest member count accepted when decoding: bounds the work on malformed input. */
    public static final int MEMBERS_MAX = 1024;
    public static final Configuration EMPTY = new Configuration(Collections.emptySortedSet(), Collections.emptySortedSet());

    private static final int VERSION = 1;

    private final SortedSet<Integer> voters;
    private final SortedSet<Integer> observers;

    private Configuration(SortedSet<Integer> voters, SortedSet<Integer> observers) {
        this.voters = voters;
        this.observers = observers;
    }

    public static Configuration of(Collection<Integer> voters, Collection<Integer> observers) {
        TreeSet<Integer> v = new TreeSet<>(voters);
        TreeSet<Integer> o = new TreeSet<>(observers);
        for (Integer id : v) {
            if (id < 0) {
                throw new IllegalArgumentException("negative node id " + id);
            }
            if (o.contains(id)) {
                throw new IllegalArgumentException("node " + id + " is both voter and observer");
            }
        }
        for (Integer id : o) {
            if (id < 0) {
                throw new IllegalArgumentException("negative node id " + id);
            }
        }
        if (v.size() + o.size() > MEMBERS_MAX) {
            throw new IllegalArgumentException("too many members: " + (v.size() + o.size()));
        }
        return new Configuration(Collections.unmodifiableSortedSet(v), Collections.unmodifiableSortedSet(o));
    }

    public SortedSet<Integer> voters() {
        return voters;
    }

    public SortedSet<Integer> observers() {
        return observers;
    }

    public boolean isVoter(int id) {
        return voters.contains(id);
    }

    public boolean isMember(int id) {
        return voters.contains(id) || observers.contains(id);
    }

    /** Voters and observers, sorted. */
    public SortedSet<Integer> members() {
        TreeSet<Integer> all = new TreeSet<>(voters);
        all.addAll(observers);
        return Collections.unmodifiableSortedSet(all);
    }

    public Configuration withVoter(int id) {
        if (voters.contains(id)) {
            throw new IllegalArgumentException("node " + id + " is already a voter");
        }
        TreeSet<Integer> v = new TreeSet<>(voters);
        v.add(id);
        TreeSet<Integer> o = new TreeSet<>(observers);
        o.remove(id);
        return of(v, o);
    }

    public Configuration withoutVoter(int id) {
        if (!voters.contains(id)) {
            throw new IllegalArgumentException("node " + id + " is not a voter");
        }
        if (voters.size() == 1) {
            throw new IllegalArgumentException("cannot remove the last voter " + id);
        }
        TreeSet<Integer> v = new TreeSet<>(voters);
        v.remove(id);
        return of(v, observers);
    }

    public Configuration withObserver(int id) {
        if (isMember(id)) {
            throw new IllegalArgumentException("node " + id + " is already a member");
        }
        TreeSet<Integer> o = new TreeSet<>(observers);
        o.add(id);
        return of(voters, o);
    }

    public Configuration withoutObserver(int id) {
        if (!observers.contains(id)) {
            throw new IllegalArgumentException("node " + id + " is not an observer");
        }
        TreeSet<Integer> o = new TreeSet<>(observers);
        o.remove(id);
        return of(voters, o);
    }

    public byte[] encode() {
        ByteBuffer buf = ByteBuffer.allocate(4 * (3 + voters.size() + observers.size()));
        buf.putInt(VERSION).putInt(voters.size());
        voters.forEach(buf::putInt);
        buf.putInt(observers.size());
        observers.forEach(buf::putInt);
        return buf.array();
    }

    /** Decodes {@link #encode()}'s format; malformed input is an {@link IllegalArgumentException}. */
    public static Configuration decode(byte[] data) {
        try {
            ByteBuffer buf = ByteBuffer.wrap(data);
            int version = buf.getInt();
            if (version != VERSION) {
                throw new IllegalArgumentException("unknown configuration version " + version);
            }
            TreeSet<Integer> v = readIds(buf);
            TreeSet<Integer> o = readIds(buf);
            if (buf.hasRemaining()) {
                throw new IllegalArgumentException("trailing bytes in configuration: " + buf.remaining());
            }
            return of(v, o);
        } catch (BufferUnderflowException e) {
            throw new IllegalArgumentException("truncated configuration entry", e);
        }
    }

    private static TreeSet<Integer> readIds(ByteBuffer buf) {
        int count = buf.getInt();
        if (count < 0 || count > MEMBERS_MAX) {
            throw new IllegalArgumentException("bad member count " + count);
        }
        TreeSet<Integer> ids = new TreeSet<>();
        for (int i = 0; i < count; i++) {
            ids.add(buf.getInt());
        }
        return ids;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Configuration c && voters.equals(c.voters) && observers.equals(c.observers);
    }

    @Override
    public int hashCode() {
        return voters.hashCode() * 31 + observers.hashCode();
    }

    @Override
    public String toString() {
        return "Configuration(voters=" + voters + ", observers=" + observers + ")";
    }
}
