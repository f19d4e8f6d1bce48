package dev.basalt.broker.replica.sim;

import dev.basalt.metadata.controller.BrokerRegistrationRequest;
import dev.basalt.metadata.controller.BrokerStatus;
import dev.basalt.metadata.controller.ControllerException;
import dev.basalt.metadata.controller.HeartbeatRequest;
import dev.basalt.metadata.image.BrokerRegistration;
import dev.basalt.metadata.image.Endpoint;
import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.metadata.image.PartitionRegistration;
import dev.basalt.metadata.image.TopicImage;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * One simulated broker process: its lifecycle towards the controller (register with a fresh
 * incarnation, heartbeat, re-register when told its incarnation is stale), a metadata image it polls
 * from the controller, and one {@link SimReplica} per partition it hosts. Its logs are its disk and
 * survive crashes; everything else is process memory, rebuilt on restart. A paused broker (SIGSTOP)
 * holds every message and timer that reaches it and runs them in order when resumed.
 *
 * <p>Lifecycle rule modelled from KRaft: a broker acts on partition state only once its image holds
 * its own current registration. A restarted broker's image first shows the partitions as its previous
 * incarnation left them; acting on that would let it lead an epoch it already led, with a log that
 * lost its unflushed tail. Its re-registration moves those leaderships away first.
 *
 * <p>Not thread-safe; driven by the simulation's one thread.
 */
final class SimBroker {
    final int id;
    final ReplicationSimulation sim;
    final TreeMap<Integer, SimLog> logs = new TreeMap<>();
    final TreeMap<Integer, SimReplica> replicas = new TreeMap<>();
    private final List<Runnable> held = new ArrayList<>();
    private boolean up;
    private boolean paused;
    private int incarnation;
    private UUID incarnationId;
    private MetadataImage image = MetadataImage.EMPTY;
    private long metadataOffset = -1;
    private boolean registered;
    private long registrationOffset = Long.MAX_VALUE;
    private boolean shuttingDown;

    SimBroker(int id, ReplicationSimulation sim) {
        this.id = id;
        this.sim = sim;
        sim.network.register(id, this::deliver);
    }

    boolean isUp() {
        return up;
    }

    boolean isPaused() {
        return paused;
    }

    int incarnation() {
        return incarnation;
    }

    UUID incarnationId() {
        return incarnationId;
    }

    SimLog log(int partition) {
        return logs.computeIfAbsent(partition, k -> new SimLog());
    }

    // ------------------------------------------------------------------ process lifecycle and faults

    void start() {
        if (up) {
            throw new IllegalStateException("broker " + id + " already up");
        }
        up = true;
        paused = false;
        shuttingDown = false;
        incarnation++;
        incarnationId = new UUID(sim.random.nextLong() | 1, sim.random.nextLong());
        image = MetadataImage.EMPTY;
        metadataOffset = -1;
        registered = false;
        registrationOffset = Long.MAX_VALUE;
        replicas.clear();
        register();
        pollMetadata();
    }

    /** kill -9 ({@code powerLoss} false: the page cache survives) or a power loss (unflushed data lost). */
    void crash(boolean powerLoss) {
        if (!up) {
            return;
        }
        up = false;
        paused = false;
        held.clear();
        incarnation++;
        for (SimReplica r : replicas.values()) {
            r.stop();
        }
        replicas.clear();
        if (powerLoss) {
            for (var e : logs.entrySet()) {
                long flushed = e.getValue().flushedOffset();
                e.getValue().loseUnflushed();
                if (sim.inCommittedIsr(id, e.getKey())) {
                    sim.invariants.checkIsrMemberHoldsAcked("broker " + id + " p" + e.getKey() + " (power loss)",
                            e.getKey(), e.getValue(), flushed);
                }
            }
        }
    }

    void pause() {
        if (up) {
            paused = true;
        }
    }

    void resume() {
        if (!up || !paused) {
            return;
        }
        paused = false;
        List<Runnable> backlog = new ArrayList<>(held);
        held.clear();
        for (Runnable r : backlog) {
            sim.scheduler.schedule(0, guard(r));
        }
    }

    /** Controlled shutdown: the controller moves leadership away and fences it, then the process stops. */
    void controlledShutdown(long restartAfterMs) {
        if (!up || !registered || shuttingDown) {
            return;
        }
        shuttingDown = true;
        HeartbeatRequest request = new HeartbeatRequest(id, incarnationId, false, true);
        Runnable stop = () -> {
            crash(false);
            sim.scheduler.schedule(sim.faultsActive() ? restartAfterMs : 0, () -> {
                if (!up) {
                    start();
                }
            });
        };
        toController(() -> sim.controller.heartbeat(request, sim.nowMs()), reply -> stop.run());
        timer(sim.params().requestTimeoutMs(), stop); // no answer: stop anyway, as a real shutdown times out
    }

    /**
     * The heal ends a controlled shutdown still in progress at once (stop, then start), as it
     * restarts every stopped broker: else one whose shutdown request was dropped would stop only at
     * its request timeout, after the cluster is meant to have settled (seed -5778841445832959583:13).
     */
    void finishControlledShutdown() {
        if (up && shuttingDown) {
            crash(false);
            start();
        }
    }

    /** A message reaching this node: dropped when down, held when paused. */
    private void deliver(Runnable message) {
        if (!up) {
            return;
        }
        if (paused) {
            held.add(message);
        } else {
            message.run();
        }
    }

    /** Wraps an action of the current incarnation: it does nothing once this process is gone. */
    Runnable guard(Runnable action) {
        return guard(incarnation, action);
    }

    private Runnable guard(int inc, Runnable action) {
        return () -> {
            if (up && incarnation == inc) {
                if (paused) {
                    held.add(action);
                } else {
                    action.run();
                }
            }
        };
    }

    /** A timer of this process. */
    void timer(long delayMs, Runnable action) {
        sim.scheduler.schedule(delayMs, guard(action));
    }

    /** Sends a request to another broker, which answers through {@code reply} (run back here). */
    void send(int to, Runnable request) {
        sim.network.send(id, to, request);
    }

    /**
     * Where the answer to a request sent now goes: back over the network from {@code from}, to this
     * incarnation only (a restarted process never sees the replies its predecessor was owed).
     */
    <T> Consumer<T> replyTo(int from, Consumer<T> handler) {
        int inc = incarnation;
        return answer -> sim.network.send(from, id, guard(inc, () -> handler.accept(answer)));
    }

    private <R> void toController(Supplier<SimController.Reply<R>> call,
                                  Consumer<SimController.Reply<R>> onReply) {
        Consumer<SimController.Reply<R>> reply = replyTo(SimController.NODE_ID, onReply);
        send(SimController.NODE_ID, () -> reply.accept(call.get()));
    }

    // ------------------------------------------------------------------ registration and heartbeats

    private void register() {
        if (registered) {
            return;
        }
        BrokerRegistrationRequest request = new BrokerRegistrationRequest(id, incarnationId,
                List.of(new Endpoint("REPLICATION", "sim", 9000 + id)), Optional.empty());
        toController(() -> sim.controller.register(request, sim.nowMs()), this::handleRegistration);
        timer(sim.params().heartbeatIntervalMs() * 2, this::register);
    }

    private void handleRegistration(SimController.Reply<BrokerStatus> reply) {
        if (registered || !reply.ok()) {
            return; // refused (the old incarnation's session is still alive): the retry timer asks again
        }
        registered = true;
        registrationOffset = reply.offset();
        heartbeat();
    }

    private void heartbeat() {
        if (!registered || shuttingDown) {
            return;
        }
        HeartbeatRequest request = new HeartbeatRequest(id, incarnationId, metadataOffset >= registrationOffset, false);
        toController(() -> sim.controller.heartbeat(request, sim.nowMs()), reply -> {
            if (!reply.ok() && (reply.error() == ControllerException.Reason.STALE_BROKER_INCARNATION
                    || reply.error() == ControllerException.Reason.UNKNOWN_BROKER)) {
                registered = false; // cannot happen while this incarnation lives; kept for completeness
                register();
            }
        });
        timer(sim.params().heartbeatIntervalMs(), this::heartbeat);
    }

    // ------------------------------------------------------------------ metadata

    private void pollMetadata() {
        long known = metadataOffset;
        toController(() -> {
            long offset = sim.controller.offset();
            return new SimController.Reply<>(offset > known ? sim.controller.image() : MetadataImage.EMPTY, null, offset);
        }, reply -> {
            if (reply.offset() > metadataOffset && reply.offset() > known) {
                applyImage(reply.response(), reply.offset());
            }
        });
        timer(sim.params().metadataPollMs(), this::pollMetadata);
    }

    private void applyImage(MetadataImage newImage, long offset) {
        image = newImage;
        metadataOffset = offset;
        Optional<BrokerRegistration> me = image.cluster().broker(id);
        if ((me.isEmpty() || !me.get().incarnationId().equals(incarnationId))
                && sim.params().bug() != ReplicationSimulation.Bug.ACTS_BEFORE_REGISTRATION) {
            return; // not yet caught up to our own registration: act on nothing (see class comment)
        }
        Optional<TopicImage> topic = image.topics().topic(SimController.TOPIC);
        if (topic.isEmpty()) {
            return;
        }
        for (var e : topic.get().partitions().entrySet()) {
            PartitionRegistration p = e.getValue();
            if (!p.replicas().contains(id)) {
                continue;
            }
            SimReplica r = replicas.computeIfAbsent(e.getKey(), k -> new SimReplica(this, k, topic.get().id(), log(k)));
            r.applyRegistration(p);
        }
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("broker ").append(id);
        if (!up) {
            return sb.append(" down").toString();
        }
        sb.append(paused ? " paused" : "").append(registered ? "" : " unregistered").append(" inc=").append(incarnation)
                .append(" meta@").append(metadataOffset);
        for (SimReplica r : replicas.values()) {
            sb.append("\n      ").append(r);
        }
        for (var e : logs.entrySet()) {
            if (!replicas.containsKey(e.getKey())) {
                sb.append("\n      p").append(e.getKey()).append(" (no replica) LEO=").append(e.getValue().logEndOffset());
            }
        }
        return sb.toString();
    }
}
