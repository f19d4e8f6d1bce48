package dev.basalt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.basalt.client.ClientTimeoutException;
import dev.basalt.client.IndeterminateException;
import dev.basalt.client.UnknownTopicException;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * {@link AdminWait}: an admin call unanswered within --timeout-ms (plus the grace) fails naming
 * the --timeout-ms given, not the longer wait (found probing: "no answer within 6000 ms" for
 * --timeout-ms 5000); answers and failures pass through as {@code Admin.get}/{@code getAll} give
 * them. Each unanswered case costs its 1 s grace.
 */
class AdminWaitTest {
    @Test
    void anUnansweredRead_isATimeoutNamingTheTimeoutGiven() {
        ClientTimeoutException e = assertThrows(ClientTimeoutException.class, () -> new AdminWait(5).get(new CompletableFuture<>()));
        assertEquals("no answer within 5 ms (--timeout-ms)", e.getMessage());
    }

    @Test
    void anUnansweredChange_isIndeterminate_namingItAndTheTimeoutGiven() {
        IndeterminateException e = assertThrows(IndeterminateException.class,
                () -> new AdminWait(5).getAll(Map.of("t", new CompletableFuture<>())));
        assertEquals("t: no answer within 5 ms (--timeout-ms); the change may still be applied (e.g. once the controller quorum"
                + " is back): check its state before retrying", e.getMessage());
    }

    @Test
    void answersAndFailures_passThrough() {
        AdminWait w = new AdminWait(5);
        assertEquals("v", w.get(CompletableFuture.completedFuture("v")));
        assertEquals(Map.of("t", "v"), w.getAll(Map.of("t", CompletableFuture.completedFuture("v"))));
        UnknownTopicException unknown = new UnknownTopicException("t");
        assertSame(unknown, assertThrows(UnknownTopicException.class, () -> w.get(CompletableFuture.failedFuture(unknown))));
        assertSame(unknown, assertThrows(UnknownTopicException.class,
                () -> w.getAll(Map.of("t", CompletableFuture.<String>failedFuture(unknown)))));
        assertThrows(BasaltCli.UsageException.class, () -> new AdminWait(0));
    }
}
