package dev.basalt.jepsen.nemesis;

import dev.basalt.harness.Cluster;
import dev.basalt.harness.NodeProcess;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A Raft membership change under load: on start, the active controller removes one follower voter
 * (chosen by the step's choice among the controllers that are not active) through
 * {@code POST /quorum/remove-voter?id=N}; on heal it adds it back ({@code /quorum/add-voter}) and
 * waits until that node reports itself a voter again. The node keeps running as a broker and
 * follows the metadata log as an observer meanwhile; the quorum keeps a majority of the smaller
 * voter set, so the cluster keeps serving.
 *
 * <p>A voter change is refused while another is uncommitted or before a new leader committed an
 * entry of its term, and only the active controller takes one: the nemesis retries against the
 * active controller of the moment for up to {@link #ATTEMPTS_MS}. A removal still refused after
 * that is recorded in the nemesis op and nothing is healed (the cluster was left as it was); an
 * add-back still refused fails the heal (the cluster would be left with fewer voters).
 *
 * <p>Thread-safety: not thread-safe (see {@link Nemesis}).
 */
public final class VoterChangeNemesis implements Nemesis {
    static final long ATTEMPTS_MS = 30_000;
    private static final Duration ASK = Duration.ofSeconds(10);
    private final Cluster cluster;
    private final int choice;
    private int removed = -1;

    public VoterChangeNemesis(Cluster cluster, int choice) {
        this.cluster = cluster;
        this.choice = choice;
    }

    @Override
    public String start() {
        int active = cluster.activeController(ASK);
        List<Integer> followers = new ArrayList<>(cluster.controllerIds());
        followers.remove(Integer.valueOf(active));
        if (followers.isEmpty()) {
            return "no follower voter to remove (voters " + cluster.controllerIds() + ")";
        }
        int victim = followers.get(choice % followers.size());
        Attempt a = change(false, victim);
        if (a.answer.code() != 200) {
            return "remove-voter " + victim + " refused after " + a.tries + " tries, left as is: " + a.answer.code() + " "
                    + a.answer.body().trim();
        }
        removed = victim;
        return "removed voter " + victim + " via node " + a.via + " (" + a.tries + " tries): " + a.answer.body().trim();
    }

    @Override
    public String heal() {
        if (removed < 0) {
            return "nothing to add back";
        }
        Attempt a = change(true, removed);
        if (a.answer.code() != 200) {
            throw new IllegalStateException("add-voter " + removed + " refused for " + ATTEMPTS_MS + " ms (" + a.tries + " tries): "
                    + a.answer.code() + " " + a.answer.body().trim());
        }
        NodeProcess node = cluster.node(removed);
        long deadline = System.nanoTime() + ATTEMPTS_MS * 1_000_000;
        while (!node.httpGet("/status").body().contains("\"voter\":true")) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("node " + removed + " added back as a voter (" + a.answer.body().trim()
                        + ") but not reporting itself a voter after " + ATTEMPTS_MS + " ms: " + node.httpGet("/status").body());
            }
            sleepMs(100);
        }
        return "added voter " + removed + " back via node " + a.via + " (" + a.tries + " tries): " + a.answer.body().trim();
    }

    private record Attempt(NodeProcess.HttpAnswer answer, int via, int tries) {
    }

    private Attempt change(boolean add, int id) {
        long deadline = System.nanoTime() + ATTEMPTS_MS * 1_000_000;
        NodeProcess.HttpAnswer last = new NodeProcess.HttpAnswer(-1, "no active controller");
        int via = -1;
        int tries = 0;
        while (System.nanoTime() < deadline) {
            try {
                via = cluster.activeController(ASK);
            } catch (RuntimeException e) {
                continue; // activeController waited ASK already
            }
            if (!add && via == id) {
                // the chosen follower became the leader: removing a leader is a different action; wait for another
                sleepMs(500);
                continue;
            }
            tries++;
            last = cluster.node(via).httpPost((add ? "/quorum/add-voter?id=" : "/quorum/remove-voter?id=") + id);
            if (last.code() == 200) {
                break;
            }
            sleepMs(300);
        }
        return new Attempt(last, via, tries);
    }

    private static void sleepMs(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
