package dev.basalt.raft.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.raft.core.RaftCore;
import java.io.IOException;
import java.lang.reflect.Method;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Goal: prove that the simulation catches two classic Raft bugs it used to miss, within a bounded
 * number of seeds, without a test switch in production code.
 * <ul>
 *   <li>Figure 8 (Raft paper §5.4.2): a leader commits an entry of an older term by counting its
 *       replicas. Reachable only because the message shape now varies by seed (one entry per
 *       append lets an old-term entry be acknowledged alone) and a nemesis crashes new leaders.</li>
 *   <li>Forgotten vote: a vote is granted but not marked for persistence, so a restart forgets it
 *       and the node may vote again in the same term. Caught by the durable-vote check on send, and
 *       with that check off, by the checks after restarts and across incarnations, which need a
 *       vote request delivered late, after the voter restarted.</li>
 * </ul>
 *
 * <p>Method: each test copies one source file of the core with a one-line change (it fails if
 * the source no longer holds the text, so a refactoring cannot silently disarm it), compiles the
 * copy with the JDK's compiler, and loads it child-first together with the simulation classes,
 * then runs seeds until the first failure. The correct core passes the same seeds (the property
 * and the hunt share the seed derivation).
 *
 * <p>Reproduce: each test prints the failing run and its replay command, of the form
 * {@code ./mvnw -B -ntp -pl metadata-raft -am verify -Dtest=PlantedBugsTest#figure8CommitIsCaught
 * -Dbasalt.plant.seed=SEED:FAULTS:OPS -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class PlantedBugsTest {
    /** The hunt's master seed: fixed, so each test is deterministic. */
    static final long MASTER_SEED = 14;
    /** Seeds a hunt may use (the vote hunts need under 100; the Figure 8 one about 3,000). */
    static final int SEEDS_MAX = 5_000;
    /**
     * The first Figure 8 focus run (seed:faults:ops) of the hunt from {@link #MASTER_SEED} that
     * catches the Figure 8 mutant, found after 3,017 runs (25 s). The default build replays it;
     * {@code -Dbasalt.long=true} (profile long-tests) hunts from scratch instead.
     */
    static final String FIGURE8_RUN = "-6855502303600158330:1:34";

    @Test
    void figure8CommitIsCaught(@TempDir Path tmp) throws Exception {
        String found = hunt(tmp, "dev/basalt/raft/core/RaftCore.java",
                "if (n <= commitIndex || log.termAt(n) != l.term()) {", "if (n <= commitIndex) {", true, true,
                Boolean.getBoolean("basalt.long") ? "" : FIGURE8_RUN, "figure8CommitIsCaught");
        assertTrue(found.contains("committed") || found.contains("state-machine safety"),
                "caught, but not by a committed-entry check: " + found);
    }

    @Test
    void forgottenVoteIsCaughtOnSend(@TempDir Path tmp) throws Exception {
        String found = hunt(tmp, "dev/basalt/raft/state/QuorumState.java", FORGET_VOTE_FROM, FORGET_VOTE_TO, true, false, "",
                "forgottenVoteIsCaughtOnSend");
        assertTrue(found.contains("vote durability"), found);
    }

    @Test
    void forgottenVoteIsCaughtAfterRestart(@TempDir Path tmp) throws Exception {
        String found = hunt(tmp, "dev/basalt/raft/state/QuorumState.java", FORGET_VOTE_FROM, FORGET_VOTE_TO, false, false, "",
                "forgottenVoteIsCaughtAfterRestart");
        assertTrue(found.contains("vote durability: node") && found.contains("restarts")
                || found.contains("vote safety"), found);
    }

    private static final String FORGET_VOTE_FROM = """
            u.resetElectionDeadline(randomDeadline(nowMs));
                    hardStateDirty = true;""";
    private static final String FORGET_VOTE_TO = """
            u.resetElectionDeadline(randomDeadline(nowMs));""";

    /** Compiles the mutant, runs the hunt in a child-first loader, asserts it failed; returns the failure. */
    /** The same runs pass against the correct core: the failures above are the planted bugs'. */
    @Test
    void correctCorePassesTheSameRuns() {
        assertEquals("none runs=1", PlantedBugHunt.hunt(MASTER_SEED, 1, true, true, FIGURE8_RUN));
        assertTrue(PlantedBugHunt.hunt(MASTER_SEED, 100, false, false, "").startsWith("none"));
    }

    private static String hunt(Path tmp, String sourcePath, String from, String to, boolean voteDurableOnSend,
                               boolean figure8Focus, String defaultRun, String testName) throws Exception {
        Path classes = location(RaftCore.class);
        Path testClasses = location(PlantedBugsTest.class);
        Path source = classes.getParent().getParent().resolve("src/main/java").resolve(sourcePath);
        String text = Files.readString(source, StandardCharsets.UTF_8);
        assertEquals(text.indexOf(from), text.lastIndexOf(from), "the planted change must match once");
        assertTrue(text.contains(from), "source no longer holds the text to mutate: " + from);
        Path mutantSource = tmp.resolve("src").resolve(sourcePath);
        Files.createDirectories(mutantSource.getParent());
        Files.writeString(mutantSource, text.replace(from, to), StandardCharsets.UTF_8);
        Path out = Files.createDirectories(tmp.resolve("classes"));
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        int rc = javac.run(null, null, null, "-d", out.toString(), "-cp", classes.toString(), "--release", "17",
                "-proc:none", "-nowarn", mutantSource.toString());
        assertEquals(0, rc, "mutant does not compile");
        String replay = System.getProperty("basalt.plant.seed", "");
        if (replay.isBlank()) {
            replay = defaultRun;
        }
        String result;
        try (ChildFirstLoader loader = new ChildFirstLoader(new URL[] {out.toUri().toURL(),
                testClasses.toUri().toURL(), classes.toUri().toURL()}, PlantedBugsTest.class.getClassLoader())) {
            Class<?> huntClass = loader.loadClass(PlantedBugHunt.class.getName());
            assertTrue(huntClass.getClassLoader() == loader, "the hunt must run against the mutant");
            Method m = huntClass.getDeclaredMethod("hunt", long.class, int.class, boolean.class, boolean.class,
                    String.class);
            m.setAccessible(true);
            result = (String) m.invoke(null, MASTER_SEED, seedsMax(), voteDurableOnSend, figure8Focus, replay);
        }
        String run = result.substring(0, result.indexOf(' '));
        System.out.println("PlantedBugsTest#" + testName + ": " + result.lines().findFirst().orElse("")
                + "\n  replay: ./mvnw -B -ntp -pl metadata-raft -am verify -Dtest=PlantedBugsTest#" + testName
                + " -Dbasalt.plant.seed=" + run + " -Dsurefire.failIfNoSpecifiedTests=false"
                + "\n  " + result.lines().skip(1).findFirst().orElse(""));
        assertTrue(!run.equals("none"), "planted bug not caught within " + seedsMax() + " seeds");
        return result;
    }

    private static int seedsMax() {
        return Integer.getInteger("basalt.plant.seeds", SEEDS_MAX);
    }

    private static Path location(Class<?> c) throws URISyntaxException {
        return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
    }

    /** Loads the Raft classes (core, simulation, test kit) itself, so the mutant replaces the original. */
    private static final class ChildFirstLoader extends URLClassLoader {
        ChildFirstLoader(URL[] urls, ClassLoader parent) {
            super(urls, parent);
        }

        @Override
        protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
            if (!name.startsWith("dev.basalt.raft.")) {
                return super.loadClass(name, resolve);
            }
            synchronized (getClassLoadingLock(name)) {
                Class<?> c = findLoadedClass(name);
                if (c == null) {
                    try {
                        c = findClass(name);
                    } catch (ClassNotFoundException e) {
                        return super.loadClass(name, resolve);
                    }
                }
                if (resolve) {
                    resolveClass(c);
                }
                return c;
            }
        }

        @Override
        public void close() throws IOException {
            super.close();
        }
    }
}
