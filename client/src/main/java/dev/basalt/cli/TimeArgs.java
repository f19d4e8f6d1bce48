package dev.basalt.cli;

import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;

/**
 * The CLI's time arguments, parsed one way for every command: an ISO-8601 date-time with its
 * offset ({@code groups --to-datetime}, {@code get-offsets --time}) and an ISO-8601 duration
 * ({@code groups --by-duration}). A value that does not parse is a usage error naming the option
 * and an example. Thread-safety: stateless.
 */
final class TimeArgs {
    private TimeArgs() {
    }

    /**
     * Milliseconds since the epoch of an ISO-8601 date-time with an offset or a Z, e.g.
     * {@code 2026-11-30T12:00:00Z} or {@code 2026-11-30T13:00:00.250+01:00}. A time without an
     * offset is refused rather than read in the machine's zone (the cluster's records carry UTC
     * times, and a script run elsewhere must mean the same instant).
     */
    static long isoToEpochMs(String option, String value) {
        try {
            return OffsetDateTime.parse(value).toInstant().toEpochMilli();
        } catch (DateTimeParseException e) {
            try {
                return Instant.parse(value).toEpochMilli();
            } catch (DateTimeParseException e2) {
                throw new BasaltCli.UsageException(option + " must be ISO-8601 with an offset, e.g. 2026-11-30T12:00:00Z, not '"
                        + value + "'");
            }
        }
    }

    /**
     * An ISO-8601 duration, {@code PnDTnHnMnS} as Kafka's {@code --by-duration} takes it (e.g.
     * {@code PT30M}, {@code P1DT2H}); negative durations (a time in the future) are refused.
     */
    static Duration duration(String option, String value) {
        Duration d;
        try {
            d = Duration.parse(value);
        } catch (DateTimeParseException e) {
            throw new BasaltCli.UsageException(option + " must be an ISO-8601 duration PnDTnHnMnS, e.g. PT30M or P1DT2H, not '"
                    + value + "'");
        }
        if (d.isNegative()) {
            throw new BasaltCli.UsageException(option + " must not be negative (it counts back from now), not " + value);
        }
        return d;
    }
}
