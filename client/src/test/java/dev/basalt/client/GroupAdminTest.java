package dev.basalt.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.client.testkit.FakeCluster;
import dev.basalt.proto.v1.ErrorCode;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link GroupAdmin}'s reads across a coordinator move: found probing a cluster, {@code lag --watch}
 * ended at the first NOT_COORDINATOR after a coordinator was killed. A read now looks the
 * coordinator up again, a bounded number of times.
 */
class GroupAdminTest {
    private FakeCluster cluster;

    @BeforeEach
    void start() throws Exception {
        cluster = FakeCluster.start(1);
    }

    @AfterEach
    void stop() {
        cluster.close();
    }

    private GroupAdmin admin() {
        return new GroupAdmin(Map.of("bootstrap.servers", cluster.bootstrap(), "request.timeout.ms", "5000"));
    }

    @Test
    void aReadWhoseCoordinatorMoved_triesAgain() {
        cluster.groups().failOffsetFetches(List.of(ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS));
        try (GroupAdmin admin = admin()) {
            assertEquals(Map.of(), admin.committedOffsets("g"));
        }
        assertEquals(3, cluster.groups().offsetFetches());
    }

    @Test
    void aCoordinatorThatKeepsMoving_failsAfterTheAttemptLimit_andOtherErrorsAtOnce() {
        cluster.groups().failOffsetFetches(Collections.nCopies(GroupAdmin.READ_ATTEMPTS_MAX + 1, ErrorCode.NOT_COORDINATOR));
        try (GroupAdmin admin = admin()) {
            BasaltException e = assertThrows(BasaltException.class, () -> admin.committedOffsets("g"));
            assertTrue(e.getMessage().contains("NOT_COORDINATOR"), e.getMessage());
            assertEquals(GroupAdmin.READ_ATTEMPTS_MAX, cluster.groups().offsetFetches());
        }
        try (GroupAdmin admin = admin()) {
            assertEquals(Map.of(), admin.committedOffsets("g"), "the left-over scripted error, then an answer");
        }
        cluster.groups().failOffsetFetches(List.of(ErrorCode.GROUP_ID_NOT_FOUND));
        int before = cluster.groups().offsetFetches();
        try (GroupAdmin admin = admin()) {
            assertThrows(GroupNotFoundException.class, () -> admin.committedOffsets("g"));
        }
        assertEquals(before + 1, cluster.groups().offsetFetches(), "not retried");
    }
}
