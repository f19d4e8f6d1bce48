package dev.basalt.raft.driver;

import dev.basalt.raft.log.LogEntry;
import dev.basalt.raft.log.RaftStore;
import dev.basalt.raft.log.SnapshotMeta;
import dev.basalt.raft.quorum.Configuration;
import dev.basalt.raft.transport.GrpcTransport;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletionException;
import java.util.zip.CRC32C;

/**
 * A standalone Raft voter process, for tests that need real processes (kill -9) and for the
 * failover benchmark. Not a product entry point: the broker embeds {@link RaftNode} itself.
 *
 * <p>Usage: {@code RaftServerMain --id=N --peers=1=127.0.0.1:P1,2=127.0.0.1:P2,... --data=DIR
 * [--store-class=FQCN]}: the durable {@link dev.basalt.raft.log.FileRaftStore} unless a test names
 * another store class (implementing {@link RaftStore} with a public {@code (java.nio.file.Path)}
 * constructor); every peer listed is a voter.
 *
 * <p>Line protocol. Commands on stdin: {@code propose ID TEXT}, {@code read ID}, {@code status},
 * {@code quit}. Events on stdout: {@code READY id}, {@code LEADER term leaderId},
 * {@code PROPOSED ID OK index} / {@code PROPOSED ID ERR ExceptionName}, {@code READ ID OK index} /
 * {@code READ ID ERR ExceptionName}, {@code STATUS term leader commit applied digest}. The state
 * machine is a ledger: it counts DATA entries and keeps a CRC32C chain over their payloads, so two
 * nodes that applied the same prefix print the same digest. Thread-safety: stdout writes are
 * synchronized; the ledger is guarded by its monitor.
 */
public final class RaftServerMain {
    private RaftServerMain() {
    }

    /** The ledger state machine: applied index, count of DATA entries, CRC chain. */
    static final class Ledger implements StateMachine {
        private long appliedIndex;
        private long count;
        private int digest;

        @Override
        public synchronized void apply(LogEntry entry) {
            appliedIndex = entry.index();
            if (entry.type() == LogEntry.EntryType.DATA) {
                CRC32C c = new CRC32C();
                c.update(ByteBuffer.allocate(4).putInt(digest).array());
                c.update(entry.data());
                digest = (int) c.getValue();
                count++;
            }
        }

        @Override
        public synchronized byte[] snapshot() {
            return ByteBuffer.allocate(20).putLong(appliedIndex).putLong(count).putInt(digest).array();
        }

        @Override
        public synchronized void restore(SnapshotMeta meta, byte[] data) {
            ByteBuffer b = ByteBuffer.wrap(data);
            appliedIndex = b.getLong();
            count = b.getLong();
            digest = b.getInt();
            appliedIndex = meta.lastIndex();
        }

        synchronized String describe() {
            return appliedIndex + " " + count + ":" + Integer.toHexString(digest);
        }
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opts = new TreeMap<>();
        for (String a : args) {
            int eq = a.indexOf('=');
            if (!a.startsWith("--") || eq < 0) {
                throw new IllegalArgumentException("bad argument " + a);
            }
            opts.put(a.substring(2, eq), a.substring(eq + 1));
        }
        int id = Integer.parseInt(required(opts, "id"));
        Map<Integer, InetSocketAddress> peers = parsePeers(required(opts, "peers"));
        Path data = Path.of(required(opts, "data"));
        // The production store unless a test names another one.
        RaftStore store = opts.containsKey("store-class")
                ? (RaftStore) Class.forName(opts.get("store-class")).getConstructor(Path.class).newInstance(data)
                : dev.basalt.raft.log.FileRaftStore.open(data, dev.basalt.raft.log.FileRaftStore.Config.DEFAULT);
        Configuration voters = Configuration.of(new ArrayList<>(peers.keySet()), List.of());
        RaftNodeConfig config = RaftNodeConfig.defaults(id, voters);
        GrpcTransport transport = new GrpcTransport(id, peers.get(id), peers, GrpcTransport.Options.DEFAULT);
        Ledger ledger = new Ledger();
        RaftNode node = RaftNode.start(config, store, ledger, transport, FatalFaultHandler.HALT);
        node.addLeaderListener((term, leader) -> print("LEADER " + term + " " + leader));
        print("READY " + id);
        serve(node, ledger);
        node.close();
        print("CLOSED " + id);
    }

    private static void serve(RaftNode node, Ledger ledger) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            String[] parts = line.trim().split(" ", 3);
            switch (parts[0]) {
                case "propose" -> node.propose(parts[2].getBytes(StandardCharsets.UTF_8)).whenComplete((index, err) ->
                        print("PROPOSED " + parts[1] + (err == null ? " OK " + index : " ERR " + name(err))));
                case "read" -> node.readIndex().whenComplete((index, err) ->
                        print("READ " + parts[1] + (err == null ? " OK " + index : " ERR " + name(err))));
                case "status" -> print("STATUS " + node.term() + " " + node.leaderId() + " " + node.commitIndex()
                        + " " + ledger.describe());
                case "quit" -> {
                    return;
                }
                default -> print("UNKNOWN " + line);
            }
        }
    }

    private static String name(Throwable t) {
        Throwable cause = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
        return cause.getClass().getSimpleName();
    }

    private static synchronized void print(String line) {
        System.out.println(line);
        System.out.flush();
    }

    private static String required(Map<String, String> opts, String name) {
        String v = opts.get(name);
        if (v == null) {
            throw new IllegalArgumentException("missing --" + name + "=...");
        }
        return v;
    }

    private static Map<Integer, InetSocketAddress> parsePeers(String spec) {
        Map<Integer, InetSocketAddress> peers = new TreeMap<>();
        for (String p : spec.split(",")) {
            String[] idAndAddress = p.split("=");
            String[] hostPort = idAndAddress[1].split(":");
            peers.put(Integer.parseInt(idAndAddress[0]),
                    new InetSocketAddress(hostPort[0], Integer.parseInt(hostPort[1])));
        }
        return peers;
    }
}
