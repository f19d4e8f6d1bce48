package dev.basalt.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * A periodic task failing for every partition logs one line when it starts failing, at most one
 * summary per minute while it lasts (counting partitions and rounds), and one line when it works
 * again; no stack trace above DEBUG. Time is given by the caller, so the test needs no clock.
 */
class FailureSummaryLogTest {
    private final Logger logger = (Logger) LoggerFactory.getLogger("test.FailureSummaryLogTest");
    private final ListAppender<ILoggingEvent> logged = new ListAppender<>();

    @BeforeEach
    void capture() {
        logged.start();
        logger.addAppender(logged);
        logger.setLevel(Level.INFO);
    }

    @AfterEach
    void release() {
        logger.detachAppender(logged);
    }

    private void failingRound(FailureSummaryLog summary, int partitions, long nowMs) {
        for (int p = 0; p < partitions; p++) {
            summary.failed(new TopicPartition("t", p), new LogStorageException("index state write failed", null, null));
        }
        summary.endRound(nowMs);
    }

    private List<String> messages() {
        return logged.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
    }

    @Test
    void failingRounds_oneLineWhenTheyStart_thenOneAMinute_thenOneWhenTheyEnd() {
        FailureSummaryLog summary = new FailureSummaryLog(logger, "checkpoint the HW");
        summary.endRound(0);
        assertEquals(List.of(), messages(), "a round without failures logs nothing");

        failingRound(summary, 136, 1_000);
        assertEquals(1, logged.list.size(), messages().toString());
        assertTrue(messages().get(0).startsWith("Cannot checkpoint the HW of 136 partitions (e.g. t-0: "), messages().get(0));
        assertEquals(Level.WARN, logged.list.get(0).getLevel());
        assertNull(logged.list.get(0).getThrowableProxy(), "no stack trace above DEBUG");

        for (long t = 6_000; t < 61_000; t += 5_000) {
            failingRound(summary, 136, t);
        }
        assertEquals(1, logged.list.size(), "nothing more within the minute: " + messages());

        failingRound(summary, 130, 61_000);
        assertEquals(2, logged.list.size(), messages().toString());
        assertTrue(messages().get(1).startsWith("Still cannot checkpoint the HW of 130 partitions (12 rounds failed in the last"
                + " 60 s; e.g. t-0: "), messages().get(1));

        summary.endRound(66_000);
        assertEquals(3, logged.list.size(), messages().toString());
        assertEquals("Can checkpoint the HW of every partition again (130 failed the round before)", messages().get(2));
        summary.endRound(71_000);
        assertEquals(3, logged.list.size(), "once: " + messages());

        failingRound(summary, 1, 72_000);
        assertEquals(4, logged.list.size(), "failing again is a change of state, logged at once: " + messages());
    }
}
