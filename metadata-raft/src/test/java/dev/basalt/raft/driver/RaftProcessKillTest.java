package dev.basalt.raft.driver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.raft.testkit.RaftProcessCluster;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Goal: with real processes, real sockets and fsync, losing the leader to kill -9 costs no
 * committed entry: a new leader is elected and commits, and the killed node, restarted on its own
 * data directory, rejoins and catches up to the same state. Method: three
 * {@link RaftServerMain} JVMs on 127.0.0.1 ({@link RaftProcessCluster}), SIGKILL of the leader's
 * PID, bounded polling of each node's status. Reproduce: run this class; each node's stderr is in
 * the JUnit temp directory.
 */
class RaftProcessKillTest {
    @Test
    void killedLeaderIsReplacedAndRejoinsAfterRestart(@TempDir Path dir) throws Exception {
        try (RaftProcessCluster cluster = new RaftProcessCluster(3, dir)) {
            cluster.startAll();
            int leader = awaitLeader(cluster);
            long before = cluster.propose(leader, "before-kill", 10_000);
            assertTrue(before > 0, "the first leader commits");

            cluster.kill(leader);
            int next = awaitLeader(cluster);
            assertNotEquals(leader, next);
            long after = -1;
            for (int attempt = 0; attempt < 50 && after < 0; attempt++) {
                after = cluster.propose(next, "after-kill-" + attempt, 5_000);
                if (after < 0) {
                    next = awaitLeader(cluster);
                }
            }
            assertTrue(after > before, "the new leader commits after the old one's entry");

            cluster.start(leader);
            long target = after;
            RaftProcessCluster.Status caughtUp = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (System.nanoTime() < deadline) {
                RaftProcessCluster.Status s = cluster.status(leader);
                if (s.applied() >= target) {
                    caughtUp = s;
                    break;
                }
                Thread.sleep(50);
            }
            assertTrue(caughtUp != null, "restarted node catches up to index " + target);
            RaftProcessCluster.Status reference = cluster.status(next);
            for (int i = 0; i < 100 && reference.applied() != caughtUp.applied(); i++) {
                Thread.sleep(50);
                caughtUp = cluster.status(leader);
                reference = cluster.status(next);
            }
            assertEquals(reference.applied(), caughtUp.applied());
            assertEquals(reference.digest(), caughtUp.digest(), "same entries applied in the same order");
        }
    }

    static int awaitLeader(RaftProcessCluster cluster) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            int leader = cluster.agreedLeader();
            if (leader > 0) {
                return leader;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no agreed leader within 30 s");
    }
}
