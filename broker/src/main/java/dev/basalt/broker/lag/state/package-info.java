/**
 * The pure lag monitor rules (DESIGN.md §6 "Lag monitor"): Burrow's evaluator over a window of
 * commits ({@link dev.basalt.broker.lag.state.LagEvaluator}, {@link dev.basalt.broker.lag.state.CommitWindow})
 * and lag in seconds by interpolation over log-end-offset samples
 * ({@link dev.basalt.broker.lag.state.OffsetTimeline}).
 *
 * <p>No I/O, no clock reads (time comes in as {@code nowMs}), no threads: the build runs
 * forbidden-apis over this package.
 */
package dev.basalt.broker.lag.state;
