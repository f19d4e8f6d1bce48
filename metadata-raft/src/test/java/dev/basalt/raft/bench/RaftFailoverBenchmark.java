package dev.basalt.raft.bench;

import dev.basalt.raft.testkit.RaftProcessCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Benchmark (not a test): time from kill -9 of the leader's process to the next committed
 * proposal, with the default timeouts (election timeout 300-600 ms, heartbeat 50 ms), over three
 * {@code RaftServerMain} JVMs on 127.0.0.1 with fsyncing stores. Each run: wait until the three
 * agree on a leader and it commits, SIGKILL it, then propose round-robin to the survivors
 * (refusals are immediate) until one commits; restart the killed node and let it catch up.
 * Prints every run and the median. Single-threaded main.
 *
 * <p>Run like {@link RaftThroughputBenchmark}: {@code ... dev.basalt.raft.bench.RaftFailoverBenchmark
 * [dataDir] [runs]}.
 */
public final class RaftFailoverBenchmark {
    private RaftFailoverBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args.length > 0 ? args[0] : "target/bench-failover").resolve("run-" + System.nanoTime());
        int runs = args.length > 1 ? Integer.parseInt(args[1]) : 20;
        Files.createDirectories(dir);
        List<Long> millis = new ArrayList<>();
        try (RaftProcessCluster cluster = new RaftProcessCluster(3, dir)) {
            cluster.startAll();
            for (int run = 0; run < runs; run++) {
                int leader = awaitCommittingLeader(cluster, run);
                long t0 = System.nanoTime();
                cluster.kill(leader);
                long committedAt = -1;
                int attempt = 0;
                while (committedAt < 0) {
                    for (Integer id : cluster.ids()) {
                        if (id != leader && cluster.propose(id, "after-" + run + "-" + attempt++, 2_000) > 0) {
                            committedAt = System.nanoTime();
                            break;
                        }
                    }
                    if (committedAt < 0) {
                        Thread.sleep(2);
                    }
                }
                long ms = TimeUnit.NANOSECONDS.toMillis(committedAt - t0);
                millis.add(ms);
                System.out.printf("run %2d: killed leader %d, next commit after %d ms%n", run, leader, ms);
                cluster.start(leader);
            }
        }
        Collections.sort(millis);
        double median = millis.size() % 2 == 1 ? millis.get(millis.size() / 2)
                : (millis.get(millis.size() / 2 - 1) + millis.get(millis.size() / 2)) / 2.0;
        System.out.printf("RaftFailoverBenchmark: %d runs, kill -9 leader -> next commit: median %.0f ms, min %d ms,"
                + " max %d ms%n", millis.size(), median, millis.get(0), millis.get(millis.size() - 1));
    }

    private static int awaitCommittingLeader(RaftProcessCluster cluster, int run) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            int leader = cluster.agreedLeader();
            if (leader > 0 && cluster.propose(leader, "warm-" + run, 2_000) > 0) {
                // let the restarted node catch up before the next kill
                long commit = cluster.status(leader).commit();
                boolean allCaughtUp = true;
                for (Integer id : cluster.ids()) {
                    allCaughtUp &= cluster.status(id).applied() >= commit - 1;
                }
                if (allCaughtUp) {
                    return leader;
                }
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException("no committing leader within 60 s");
    }
}
