package dev.basalt.jepsen.history;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The JSON lines form of a history reads back to the same ops; malformed histories are refused. */
class HistoryJsonTest {
    @TempDir
    Path tmp;

    @Test
    void roundTripsEveryField() throws IOException {
        Op send = Op.of(3, OpType.INVOKE, Fn.SEND, 1_700_000_000_123L, 42).withValues(List.of(new Msg("t-0", Msg.UNKNOWN_OFFSET, 7)));
        Op ok = send.withType(OpType.OK).withValues(List.of(new Msg("t-0", 12, 7))).withTimes(1_700_000_000_200L, 99);
        Op nemesis = Op.of(Op.NEMESIS_PROCESS, OpType.INFO, Fn.NEMESIS, 5, 100).withNote("start 0 kill-one: kill-9 [2]");
        Op commit = Op.of(4, OpType.INVOKE, Fn.COMMIT, 6, 101).withGroup("g").withValues(List.of(new Msg("t-1", 3, Msg.NO_VALUE)));
        Op commitOk = commit.withType(OpType.FAIL).withError("fenced");
        Op read = Op.of(1002, OpType.INVOKE, Fn.FINAL_READ, 7, 102);
        Op readOk = read.withType(OpType.OK).withNode(2, Map.of("t-0", 13L)).withValues(List.of(new Msg("t-0", 12, 7)));
        Op assign = Op.of(5, OpType.INVOKE, Fn.ASSIGN, 8, 103).withKeys(List.of("t-0", "t-1"));
        History h = History.of(List.of(send, ok, nemesis, commit, commitOk, read, readOk, assign, assign.withType(OpType.OK)));
        Path file = tmp.resolve("history.jsonl");
        HistoryJson.write(h, file);
        History back = HistoryJson.read(file);
        assertEquals(h.ops(), back.ops());
        assertEquals(4, back.pairs().size());
    }

    @Test
    void aProcessCannotInvokeTwiceWithoutCompleting() {
        Op a = Op.of(1, OpType.INVOKE, Fn.POLL, 0, 0);
        assertThrows(IllegalArgumentException.class, () -> History.of(List.of(a, a)));
    }

    @Test
    void anOpenInvocationCountsAsIndeterminate() {
        History h = History.of(List.of(Op.of(1, OpType.INVOKE, Fn.SEND, 0, 0).withValues(List.of(new Msg("k", -1, 1)))));
        assertEquals(OpType.INFO, h.pairs().get(0).outcome());
    }
}
