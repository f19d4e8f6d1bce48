package dev.basalt.raft.log;

/**
 * An entry or snapshot is larger than the store's configured limit. Thrown before anything is
 * written, so the store stays usable: this is bad input, not a storage failure. Immutable.
 */
public final class StoreSizeLimitException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    private final String limitName;
    private final long sizeBytes;
    private final long limitBytes;

    public StoreSizeLimitException(String limitName, long sizeBytes, long limitBytes, String what) {
        super(what + " is " + sizeBytes + " bytes, over " + limitName + "=" + limitBytes);
        this.limitName = limitName;
        this.sizeBytes = sizeBytes;
        this.limitBytes = limitBytes;
    }

    /** The configuration name of the exceeded limit, e.g. {@code entryBytesMax}. */
    public String limitName() {
        return limitName;
    }

    public long sizeBytes() {
        return sizeBytes;
    }

    public long limitBytes() {
        return limitBytes;
    }
}
