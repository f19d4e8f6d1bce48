package dev.basalt.raft.sim;

import java.util.SplittableRandom;

/**
 * Runs simulation seeds until one fails; {@link PlantedBugsTest} loads this class (with the whole
 * simulation) next to a mutant of the Raft core, so it returns plain strings across the class
 * loaders. Not thread-safe; static helpers only.
 */
final class PlantedBugHunt {
    private PlantedBugHunt() {
    }

    /**
     * Runs {@code seeds} runs derived from {@code master} (or exactly {@code replay}, a
     * {@code SEED:FAULTS:OPS} string, when not blank) and returns the first failure as
     * {@code "SEED:FAULTS:OPS runs=N\n<message>"}, or {@code "none runs=N"}. With
     * {@code figure8Focus} every run is in the swarm's Figure 8 focus.
     */
    static String hunt(long master, int seeds, boolean voteDurableOnSend, boolean figure8Focus, String replay) {
        SplittableRandom r = new SplittableRandom(master);
        for (int i = 0; i < seeds; i++) {
            long seed;
            int faults;
            int ops;
            if (replay != null && !replay.isBlank()) {
                String[] parts = replay.split(":");
                seed = Long.parseLong(parts[0]);
                faults = Integer.parseInt(parts[1]);
                ops = Integer.parseInt(parts[2]);
                i = seeds;
            } else {
                seed = r.nextLong();
                faults = r.nextInt(31);
                ops = 1 + r.nextInt(40);
            }
            Simulation sim = new Simulation(Simulation.Params.derive(seed, faults, ops, figure8Focus));
            sim.checkVoteDurableOnSend(voteDurableOnSend);
            try {
                sim.run();
            } catch (AssertionError | RuntimeException e) {
                return seed + ":" + faults + ":" + ops + " runs=" + (i + 1) + "\n" + e.getMessage();
            }
        }
        return "none runs=" + seeds;
    }
}
