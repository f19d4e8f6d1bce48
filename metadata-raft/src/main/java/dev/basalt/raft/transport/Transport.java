package dev.basalt.raft.transport;

import dev.basalt.raft.core.RaftMessage;
import java.io.IOException;
import java.util.function.Consumer;

/**
 * Moves Raft messages between nodes. Implementations are thread-safe: {@link #send} is called by
 * the driver thread, inbound messages arrive on transport threads.
 *
 * <p>Delivery is best effort, as Raft assumes: messages may be lost, delayed, duplicated or
 * reordered; the core retransmits. {@link #send} never blocks: when a peer's bounded queue is
 * full the message is dropped (back-pressure by loss, which Raft's flow control absorbs).
 */
public interface Transport extends AutoCloseable {
    /** Starts accepting inbound messages, handing each to {@code inbound} (which must not block). */
    void start(Consumer<RaftMessage> inbound) throws IOException;

    /** Queues {@code message} for {@code message.to()}; drops it if the peer is unknown or its queue is full. */
    void send(RaftMessage message);

    /** Messages dropped so far because a queue was full or the peer unknown (for metrics and tests). */
    long droppedMessages();

    @Override
    void close();
}
