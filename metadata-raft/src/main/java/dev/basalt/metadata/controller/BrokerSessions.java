package dev.basalt.metadata.controller;

import java.util.OptionalLong;
import java.util.TreeMap;
import java.util.UUID;

/**
 * When each broker incarnation was last heard from, for session-timeout fencing. Soft state of the
 * active controller, not part of the image: a new controller starts every broker's session afresh
 * at its first look (Kafka does the same), so a failover never fences brokers that were fine. Time
 * comes in as {@code nowMs}; nothing here reads a clock. Not thread-safe: the controller thread owns it.
 */
final class BrokerSessions {
    private record Session(UUID incarnationId, long lastContactMs) {
    }

    private final long sessionTimeoutMs;
    private final TreeMap<Integer, Session> sessions = new TreeMap<>();

    BrokerSessions(long sessionTimeoutMs) {
        this.sessionTimeoutMs = sessionTimeoutMs;
    }

    void touch(int brokerId, UUID incarnationId, long nowMs) {
        sessions.put(brokerId, new Session(incarnationId, nowMs));
    }

    void remove(int brokerId) {
        sessions.remove(brokerId);
    }

    /** Forgets the broker's session if it expired by {@code nowMs} (a fenced broker that went quiet). */
    void removeIfExpired(int brokerId, long nowMs) {
        Session s = sessions.get(brokerId);
        if (s != null && nowMs - s.lastContactMs() >= sessionTimeoutMs) {
            sessions.remove(brokerId);
        }
    }

    /** Whether this incarnation has been heard from within the session timeout. */
    boolean isAlive(int brokerId, UUID incarnationId, long nowMs) {
        Session s = sessions.get(brokerId);
        return s != null && s.incarnationId().equals(incarnationId) && nowMs - s.lastContactMs() < sessionTimeoutMs;
    }

    /**
     * Whether the session of this incarnation has expired. An incarnation never seen by this
     * controller starts its session now (grace after failover) and is not expired.
     */
    boolean expire(int brokerId, UUID incarnationId, long nowMs) {
        Session s = sessions.get(brokerId);
        if (s == null || !s.incarnationId().equals(incarnationId)) {
            touch(brokerId, incarnationId, nowMs);
            return false;
        }
        return nowMs - s.lastContactMs() >= sessionTimeoutMs;
    }

    /** The earliest time a tracked session expires, if any, so the driver knows when to check again. */
    OptionalLong nextExpiryMs() {
        return sessions.values().stream().mapToLong(s -> s.lastContactMs() + sessionTimeoutMs).min();
    }
}
