package dev.basalt.grpc;

/**
 * Process-wide defaults for the (shaded) netty behind gRPC, applied by Basalt's own entry points
 * (the node and the CLI) before any gRPC class loads. Each is set only if the operator did not set
 * the property (with -D). A library must not set system properties, so the Java client leaves
 * these to the application. Thread-safety: call from main before starting threads.
 *
 * <p><b>Allocator chunks.</b> gRPC's allocator uses 2 MiB pool chunks unless told otherwise, and it
 * writes a message in buffers of up to 1 MiB. A fetch answer of several MiB then takes whole chunks
 * and, when they empty, netty frees them, so the next answer maps and zeroes fresh direct memory
 * (page faults and a memset per MiB served). 16 MiB chunks keep a fetch answer inside pooled
 * memory. Measured on a 2-core host: the broker's page-fault and zeroing share of CPU during a
 * consume went from about 4% to nil.
 *
 * <p><b>Leak detection.</b> netty samples one buffer in 128 and records a stack trace at each of
 * its uses, to report buffers never released. Basalt's code never holds netty buffers (gRPC owns
 * them), and on a broker serving fetches the traces cost over 1% of the transport thread's CPU. Off
 * by default, as brokers built on netty usually run; {@code -D} the property back to
 * {@code simple} or {@code paranoid} to hunt a leak.
 */
public final class NettyDefaults {
    /** The shaded netty's property; pageSize 8 KiB << 11 = 16 MiB chunks. */
    public static final String MAX_ORDER_PROPERTY = "io.grpc.netty.shaded.io.netty.allocator.maxOrder";
    public static final String MAX_ORDER = "11";
    /** The shaded netty's leak-detection level property. */
    public static final String LEAK_DETECTION_PROPERTY = "io.grpc.netty.shaded.io.netty.leakDetection.level";
    public static final String LEAK_DETECTION = "disabled";

    private NettyDefaults() {
    }

    /** Sets the defaults unless the operator already set the properties. */
    public static void apply() {
        if (System.getProperty(MAX_ORDER_PROPERTY) == null) {
            System.setProperty(MAX_ORDER_PROPERTY, MAX_ORDER);
        }
        if (System.getProperty(LEAK_DETECTION_PROPERTY) == null) {
            System.setProperty(LEAK_DETECTION_PROPERTY, LEAK_DETECTION);
        }
    }
}
