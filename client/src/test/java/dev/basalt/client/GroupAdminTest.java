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
    void aCoordinatorThatKeepsMoving_failsAtTheApiTimeout_andOtherErrorsAtOnce() {
        cluster.groups().failOffsetFetches(Collections.nCopies(1_000, ErrorCode.NOT_COORDINATOR));
        try (GroupAdmin admin = new GroupAdmin(Map.of("bootstrap.servers", cluster.bootstrap(), "default.api.timeout.ms", "800"))) {
            BasaltException e = assertThrows(CoordinatorNotAvailableException.class, () -> admin.committedOffsets("g"));
            assertTrue(e.getMessage().contains("NOT_COORDINATOR"), e.getMessage());
            assertTrue(e.retriable());
            int tries = cluster.groups().offsetFetches();
            assertTrue(tries >= 3 && tries <= 8, tries + " tries in 800 ms, backing off from 100 ms");
        }
        cluster.groups().failOffsetFetches(List.of(ErrorCode.GROUP_ID_NOT_FOUND));
        int before = cluster.groups().offsetFetches();
        try (GroupAdmin admin = admin()) {
            assertThrows(GroupNotFoundException.class, () -> admin.committedOffsets("g"));
        }
        assertEquals(before + 1, cluster.groups().offsetFetches(), "not retried");
    }

    /**
     * Found on a fresh cluster: an offset reset right after start failed with "UnknownServerException:
     * COORDINATOR_NOT_AVAILABLE (__consumer_offsets is being created)" instead of waiting for it.
     */
    @Test
    void aWriteWhileTheOffsetsTopicIsBeingCreated_waitsForTheCoordinator() {
        cluster.groups().failFindCoordinator(3);
        try (GroupAdmin admin = admin()) {
            admin.alterOffsets("g", Map.of(new TopicPartition("t", 0), new OffsetAndMetadata(5)));
            assertEquals(5L, cluster.groups().committed("t", 0));
        }
        cluster.groups().failFindCoordinator(1_000);
        try (GroupAdmin admin = new GroupAdmin(Map.of("bootstrap.servers", cluster.bootstrap(), "default.api.timeout.ms", "500"))) {
            assertThrows(CoordinatorNotAvailableException.class, () -> admin.deleteGroup("g"), "typed and retriable at the timeout");
        }
    }
}
