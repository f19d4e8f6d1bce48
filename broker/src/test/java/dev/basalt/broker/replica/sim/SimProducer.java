package dev.basalt.broker.replica.sim;

import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.metadata.image.PartitionRegistration;
import dev.basalt.metadata.image.TopicImage;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * An acks=all producer with one request in flight: it sends each new batch to the partition leader
 * its (possibly stale) metadata names, refreshes that metadata from the controller on a schedule,
 * and moves on after an answer or a timeout. Its batches' acknowledgements are recorded at the
 * leader the moment it sends them ({@link ReplicationInvariants#recordAck}), which is stricter than
 * counting only those that arrive. Not thread-safe; driven by the simulation's one thread.
 */
final class SimProducer {
    private final int nodeId;
    private final ReplicationSimulation sim;
    private final long stopAtMs;
    private MetadataImage view = MetadataImage.EMPTY;
    private long token;
    private long sent;
    private long answeredOk;

    SimProducer(int nodeId, ReplicationSimulation sim, long stopAtMs) {
        this.nodeId = nodeId;
        this.sim = sim;
        this.stopAtMs = stopAtMs;
        sim.network.register(nodeId, Runnable::run);
    }

    long sent() {
        return sent;
    }

    long answeredOk() {
        return answeredOk;
    }

    void start(long delayMs) {
        sim.scheduler.schedule(delayMs, this::refresh);
        sim.scheduler.schedule(delayMs + 1, this::next);
    }

    private void refresh() {
        if (sim.nowMs() >= stopAtMs) {
            return;
        }
        sim.network.send(nodeId, SimController.NODE_ID, () -> {
            MetadataImage image = sim.controller.image();
            sim.network.send(SimController.NODE_ID, nodeId, () -> view = image);
        });
        sim.scheduler.schedule(sim.params().metadataPollMs(), this::refresh);
    }

    private void next() {
        if (sim.nowMs() >= stopAtMs) {
            return;
        }
        int partition = sim.random.nextInt(sim.params().partitions());
        Optional<PartitionRegistration> p = view.topics().topic(SimController.TOPIC)
                .flatMap((TopicImage t) -> t.partition(partition));
        if (p.isEmpty() || !p.get().hasLeader()) {
            sim.scheduler.schedule(sim.params().fetchBackoffMs(), this::next);
            return;
        }
        long myToken = ++token;
        long batchId = sim.nextBatchId();
        int count = 1 + sim.random.nextInt(3);
        SimBroker target = sim.broker(p.get().leader());
        Consumer<SimReplica.ProduceAnswer> reply = a -> sim.network.send(target.id, nodeId, () -> onAnswer(myToken, a));
        sent++;
        sim.network.send(nodeId, target.id, () -> {
            SimReplica r = target.replicas.get(partition);
            if (r == null) {
                reply.accept(new SimReplica.ProduceAnswer(SimReplica.Error.NOT_LEADER, -1));
            } else {
                r.handleProduce(batchId, count, reply);
            }
        });
        sim.scheduler.schedule(sim.params().requestTimeoutMs() + sim.params().delayMaxMs() * 2L, () -> {
            if (token == myToken) {
                token++;
                next();
            }
        });
    }

    private void onAnswer(long answerToken, SimReplica.ProduceAnswer a) {
        if (answerToken != token) {
            return;
        }
        token++;
        if (a.error() == null) {
            answeredOk++;
        }
        sim.scheduler.schedule(a.error() == null ? sim.random.nextInt(10) : sim.params().fetchBackoffMs(), this::next);
    }
}
