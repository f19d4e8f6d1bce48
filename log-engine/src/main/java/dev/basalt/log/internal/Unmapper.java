package dev.basalt.log.internal;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;

/**
 * Releases a {@link MappedByteBuffer}'s mapping now instead of when the GC finds it. A mapping
 * left to the GC keeps the file's pages (and, for a deleted segment, its disk space) until a full
 * collection that may never come; Kafka learned this (KAFKA-4614).
 *
 * <p>On Java 17 the only supported way is {@code sun.misc.Unsafe.invokeCleaner} (module
 * {@code jdk.unsupported}), looked up once by reflection. Touching a buffer (or any slice of it)
 * after {@link #unmap} crashes the JVM, so callers must guarantee no reader holds a view: segments
 * reference-count their readers and unmap only when the count reaches zero.
 *
 * <p>Thread-safety: stateless after class initialisation; safe from any thread.
 */
public final class Unmapper {
    private static final MethodHandle INVOKE_CLEANER = lookup();

    private Unmapper() {
    }

    private static MethodHandle lookup() {
        try {
            Class<?> unsafeClass = Class.forName("sun.misc.Unsafe");
            Field theUnsafe = unsafeClass.getDeclaredField("theUnsafe");
            theUnsafe.setAccessible(true);
            Object unsafe = theUnsafe.get(null);
            MethodHandle handle = MethodHandles.lookup().findVirtual(unsafeClass, "invokeCleaner",
                    MethodType.methodType(void.class, ByteBuffer.class));
            return handle.bindTo(unsafe);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError("cannot find sun.misc.Unsafe.invokeCleaner: " + e);
        }
    }

    /** Unmaps {@code buffer} (a direct buffer returned by FileChannel.map, not a slice) now. */
    public static void unmap(MappedByteBuffer buffer) {
        if (buffer == null) {
            return;
        }
        try {
            INVOKE_CLEANER.invokeExact((ByteBuffer) buffer);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("unmap failed", t);
        }
    }
}
