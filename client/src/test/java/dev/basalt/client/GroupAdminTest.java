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
        try (GroupAdmin admin = new GroupAdmin(Map.of("bootstrap.servers", cluster.bootstrap(), "default.api.timeout.ms", "800"))) {
            // connected and warm first: a cold JVM's first call (connection set-up, class loading) takes much of 800 ms
            admin.committedOffsets("g");
            int warm = cluster.groups().offsetFetches();
            cluster.groups().failOffsetFetches(Collections.nCopies(1_000, ErrorCode.NOT_COORDINATOR));
            BasaltException e = assertThrows(CoordinatorNotAvailableException.class, () -> admin.committedOffsets("g"));
            assertTrue(e.getMessage().contains("NOT_COORDINATOR"), e.getMessage());
            assertTrue(e.retriable());
            int tries = cluster.groups().offsetFetches() - warm;
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
     * Found probing: an offset reset (or delete) of a group with members threw
     * CommitFailedException, which code catching commit fencing would take for its own. Now a
     * GroupNotEmptyException, definite and not retriable, and nothing written.
     */
    @Test
    void aResetOfAGroupWithMembers_isGroupNotEmpty() {
        cluster.groups().setMembers(List.of("m1"));
        try (GroupAdmin admin = admin()) {
            GroupNotEmptyException e = assertThrows(GroupNotEmptyException.class,
                    () -> admin.alterOffsets("g", Map.of(new TopicPartition("t", 0), new OffsetAndMetadata(5))));
            assertTrue(e.getMessage().contains("has members: stop its consumers"), e.getMessage());
            assertTrue(!e.retriable());
        }
        assertEquals(null, cluster.groups().committed("t", 0));
    }

    /** Found probing: a call on a closed admin client threw the JDK pool's RejectedExecutionException. */
    @Test
    void aCallOnAClosedAdmin_isIllegalState() {
        Admin a = new Admin(Map.of("bootstrap.servers", cluster.bootstrap()));
        a.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> a.listTopics(false));
        assertEquals("admin client is closed", e.getMessage());
        assertThrows(IllegalStateException.class, () -> a.createTopics(List.of(new dev.basalt.client.admin.NewTopic("x", 1, 1)), false));
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

    /**
     * Found probing: with one broker of three stopped, `groups --list` and `lag` printed nothing and
     * exited 3. The brokers that answer are listed; the one that does not is named, with why.
     */
    @Test
    void listingWithABrokerDown_returnsTheOthersGroups_andNamesTheMissingBroker() throws Exception {
        cluster.close();
        cluster = FakeCluster.start(2);
        cluster.groups().setListedGroups(List.of("orders", "audit"));
        String downAddress = "127.0.0.1:" + cluster.broker(2).port();
        cluster.broker(2).stop();
        try (GroupAdmin admin = admin()) {
            GroupAdmin.GroupList l = admin.listGroupsFromEachBroker();
            assertEquals(List.of("audit", "orders"), l.groups().stream().map(GroupAdmin.GroupListing::groupId).toList());
            assertEquals(java.util.Set.of(downAddress), l.unanswered().keySet(), l.toString());
            assertTrue(!l.complete());
            BasaltException strict = assertThrows(CoordinatorNotAvailableException.class, admin::listGroups);
            assertTrue(strict.getMessage().contains("1 broker(s) did not answer") && strict.getMessage().contains(downAddress),
                    strict.getMessage());
        }
        cluster.broker(1).stop();
        try (GroupAdmin admin = admin()) {
            assertThrows(ConnectionException.class, admin::listGroupsFromEachBroker, "no broker answered: an error, not an empty list");
        }
    }

    /** A broker that has just restarted, or is loading a group shard, is asked again: its groups are not dropped. */
    @Test
    void aBrokerNotReadyToList_isAskedAgain() {
        cluster.groups().setListedGroups(List.of("g1"));
        cluster.groups().failListGroups(List.of(ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS));
        try (GroupAdmin admin = admin()) {
            GroupAdmin.GroupList l = admin.listGroupsFromEachBroker();
            assertTrue(l.complete(), l.toString());
            assertEquals(List.of("g1"), l.groups().stream().map(GroupAdmin.GroupListing::groupId).toList());
        }
        assertEquals(3, cluster.groups().listGroupsCalls());
        cluster.groups().failListGroups(Collections.nCopies(1_000, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS));
        try (GroupAdmin admin = new GroupAdmin(Map.of("bootstrap.servers", cluster.bootstrap(), "default.api.timeout.ms", "500"))) {
            BasaltException e = assertThrows(CoordinatorNotAvailableException.class, admin::listGroupsFromEachBroker);
            assertTrue(e.getMessage().contains("COORDINATOR_LOAD_IN_PROGRESS"), e.getMessage());
        }
    }

    /** A describe and an offset fetch of one group share one coordinator lookup (`lag` over many groups). */
    @Test
    void aGroupsCoordinator_isLookedUpOnce_untilACallThereFails() {
        try (GroupAdmin admin = admin()) {
            admin.committedOffsets("g");
            admin.committedOffsets("g");
            assertEquals(1, cluster.groups().findCoordinatorCalls());
            cluster.groups().failOffsetFetches(List.of(ErrorCode.NOT_COORDINATOR));
            admin.committedOffsets("g");
            assertEquals(2, cluster.groups().findCoordinatorCalls(), "moved: looked up again");
        }
    }
}
