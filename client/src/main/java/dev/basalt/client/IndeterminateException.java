package dev.basalt.client;

/**
 * The operation may or may not have taken effect: the request was sent and then the answer was
 * lost (connection closed mid-request, timeout after sending, the leader appended but the ISR
 * did not confirm). A produce that ends this way may have been written, possibly more than once
 * if it was retried; read the partition to find out.
 *
 * <p>Thread-safety: immutable.
 */
public class IndeterminateException extends BasaltException {
    private static final long serialVersionUID = 1L;

    public IndeterminateException(String message) {
        super(message);
    }

    public IndeterminateException(String message, Throwable cause) {
        super(message, cause);
    }

    /** Always true: trying again is allowed, but may duplicate what the first try did. */
    @Override
    public boolean retriable() {
        return true;
    }
}
