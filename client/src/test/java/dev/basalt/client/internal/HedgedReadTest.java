package dev.basalt.client.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.SettableFuture;
import dev.basalt.client.BasaltException;
import dev.basalt.client.ConnectionException;
import dev.basalt.client.InvalidRequestException;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * {@link HedgedRead} with scripted calls instead of gRPC: each address's call is a future the test
 * completes, fails or leaves pending (a paused broker).
 */
class HedgedReadTest {
    private static final Duration LIMIT = Duration.ofSeconds(10);
    private static final long NEVER_MS = 3_600_000;
    private final List<HostPort> addresses = List.of(new HostPort("a", 1), new HostPort("b", 2), new HostPort("c", 3));
    /** Every call sent, by address, in the order sent. */
    private final Map<HostPort, SettableFuture<String>> sent = new ConcurrentHashMap<>();
    private final List<HostPort> order = java.util.Collections.synchronizedList(new ArrayList<>());

    /** A send that answers per address as {@code script} says, synchronously or never (null). */
    private Function<HostPort, ListenableFuture<String>> scripted(Function<HostPort, Object> script) {
        return address -> {
            SettableFuture<String> f = SettableFuture.create();
            sent.put(address, f);
            order.add(address);
            Object outcome = script.apply(address);
            if (outcome instanceof String s) {
                f.set(s);
            } else if (outcome instanceof Throwable t) {
                f.setException(t);
            }
            return f;
        };
    }

    private static BasaltException classify(HostPort address, StatusRuntimeException e) {
        return e.getStatus().getCode() == Status.Code.UNAVAILABLE ? new ConnectionException(address + " unreachable", e)
                : new InvalidRequestException(address + ": " + e.getStatus().getDescription());
    }

    private HedgedRead.Answer<String> ask(int start, long hedgeAfterMs, Function<HostPort, Object> script) {
        return HedgedRead.ask(addresses, start, hedgeAfterMs, scripted(script), answer -> answer.startsWith("not me")
                        ? new ConnectionException(answer) : null, HedgedReadTest::classify, e -> e instanceof ConnectionException);
    }

    @Test
    void anAddressThatNeverAnswers_theNextIsAskedAfterTheHedgeDelay_andTheFirstAnswerWins() {
        HedgedRead.Answer<String> a = assertTimeoutPreemptively(LIMIT, () -> ask(0, 20, hp -> hp.port() == 1 ? null : "from " + hp));
        assertEquals(new HedgedRead.Answer<>(1, "from b:2"), a);
        assertEquals(List.of(addresses.get(0), addresses.get(1)), order, "c was never needed");
        assertTrue(sent.get(addresses.get(0)).isCancelled(), "the unanswered call is cancelled");
    }

    @Test
    void anAddressThatCannotBeReached_theNextIsAskedAtOnce_notAfterTheHedgeDelay() {
        StatusRuntimeException down = Status.UNAVAILABLE.withDescription("connection refused").asRuntimeException();
        HedgedRead.Answer<String> a = assertTimeoutPreemptively(LIMIT, () -> ask(1, NEVER_MS, hp -> hp.port() == 2 ? down : "from " + hp));
        assertEquals(new HedgedRead.Answer<>(2, "from c:3"), a);
    }

    @Test
    void aFailureWhileAnotherIsPending_asksTheNextAtOnce() {
        // a (first) stays pending; the hedge asks b, which fails at once: c is asked then, not
        // after another hedge delay (which is long here, so waiting for it would show)
        StatusRuntimeException down = Status.UNAVAILABLE.asRuntimeException();
        long hedgeMs = 2_000;
        Map<HostPort, Long> sentAtNs = new ConcurrentHashMap<>();
        HedgedRead.Answer<String> a = assertTimeoutPreemptively(LIMIT,
                () -> ask(0, hedgeMs, hp -> {
                    sentAtNs.put(hp, System.nanoTime());
                    return switch (hp.port()) {
                        case 1 -> null;
                        case 2 -> down;
                        default -> "from " + hp;
                    };
                }));
        assertEquals(new HedgedRead.Answer<>(2, "from c:3"), a);
        assertEquals(addresses, order);
        long gapMs = (sentAtNs.get(addresses.get(2)) - sentAtNs.get(addresses.get(1))) / 1_000_000;
        assertTrue(gapMs < hedgeMs / 2, "c asked " + gapMs + " ms after b failed, not a hedge delay (" + hedgeMs + " ms) later");
    }

    @Test
    void anAnswerThatAnotherBrokerMayAnswerBetter_movesOn_andTheLastRefusalIsThrownWhenAllRefuse() {
        HedgedRead.Answer<String> a = assertTimeoutPreemptively(LIMIT, () -> ask(0, NEVER_MS, hp -> hp.port() < 3 ? "not me " + hp : "yes"));
        assertEquals(new HedgedRead.Answer<>(2, "yes"), a);
        sent.clear();
        order.clear();
        ConnectionException e = assertThrows(ConnectionException.class, () -> assertTimeoutPreemptively(LIMIT,
                () -> ask(2, NEVER_MS, hp -> "not me " + hp)));
        assertEquals("not me b:2", e.getMessage(), "started at c, wrapped to a, b last");
        assertEquals(List.of(addresses.get(2), addresses.get(0), addresses.get(1)), order);
    }

    @Test
    void aDefiniteFailure_isThrownAtOnce_andThePendingCallsAreCancelled() {
        StatusRuntimeException bad = Status.INVALID_ARGUMENT.withDescription("bad request").asRuntimeException();
        InvalidRequestException e = assertThrows(InvalidRequestException.class, () -> assertTimeoutPreemptively(LIMIT,
                () -> ask(0, 20, hp -> hp.port() == 1 ? null : bad)));
        assertEquals("b:2: bad request", e.getMessage());
        assertTrue(sent.get(addresses.get(0)).isCancelled());
        assertEquals(2, order.size(), "c not asked after a definite answer");
    }

    @Test
    void everyAddressFailing_throwsTheLastFailure_andWaitsForThePendingOnesFirst() {
        SettableFuture<String> late = SettableFuture.create();
        StatusRuntimeException down = Status.UNAVAILABLE.asRuntimeException();
        ConnectionException e = assertThrows(ConnectionException.class, () -> assertTimeoutPreemptively(LIMIT,
                () -> HedgedRead.ask(addresses, 0, 10, hp -> {
                    order.add(hp);
                    if (hp.port() == 1) {
                        return late; // fails only once the others have failed
                    }
                    SettableFuture<String> f = SettableFuture.create();
                    f.setException(down);
                    if (hp.port() == 3) {
                        late.setException(down); // after c's own failure is queued
                    }
                    return f;
                }, answer -> null, HedgedReadTest::classify, x -> x instanceof ConnectionException)));
        assertEquals(addresses, order);
        assertTrue(e.getMessage().endsWith("unreachable"), e.getMessage());
    }

    @Test
    void everyAddressFailing_aBrokersRefusalIsThrown_notTheTimeoutOfOneThatNeverAnswered() {
        // a never answers until its call times out (after the others refused): the refusal says more
        SettableFuture<String> late = SettableFuture.create();
        StatusRuntimeException timedOut = Status.UNAVAILABLE.withDescription("deadline").asRuntimeException();
        ConnectionException e = assertThrows(ConnectionException.class, () -> assertTimeoutPreemptively(LIMIT,
                () -> HedgedRead.ask(addresses, 0, 10, hp -> {
                    order.add(hp);
                    if (hp.port() == 1) {
                        return late;
                    }
                    if (hp.port() == 3) {
                        new Thread(() -> {
                            try {
                                Thread.sleep(50);
                            } catch (InterruptedException x) {
                                return;
                            }
                            late.setException(timedOut);
                        }).start();
                    }
                    return com.google.common.util.concurrent.Futures.immediateFuture("not me " + hp);
                }, answer -> answer.startsWith("not me") ? new ConnectionException(answer) : null, HedgedReadTest::classify,
                        x -> x instanceof ConnectionException)));
        assertEquals("not me c:3", e.getMessage());
    }

    @Test
    void noAddress_isAConnectionException() {
        assertThrows(ConnectionException.class, () -> HedgedRead.ask(List.of(), 0, 10, hp -> SettableFuture.<String>create(),
                answer -> null, HedgedReadTest::classify, x -> true));
    }

    @Test
    void theAnswerIsTheCallsOwnValue() {
        String value = "v";
        assertSame(value, assertTimeoutPreemptively(LIMIT, () -> ask(0, NEVER_MS, hp -> value)).value());
    }
}
