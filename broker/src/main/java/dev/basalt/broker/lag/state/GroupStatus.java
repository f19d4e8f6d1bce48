package dev.basalt.broker.lag.state;

/** A group's lag status: the worst of its partitions', with STOP, STALL, REWIND, DATA_LOSS and PAST_LOG_END shown as ERR and UNKNOWN (lag not known) as WARN. */
public enum GroupStatus {
    OK,
    WARN,
    ERR
}
