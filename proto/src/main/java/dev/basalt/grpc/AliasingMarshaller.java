package dev.basalt.grpc;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.io.IOException;
import java.io.InputStream;

/**
 * A protobuf marshaller for messages that carry record batches in {@code bytes} fields (produce
 * requests on the broker, fetch responses on the client): it reads the whole message from the
 * transport into one heap array and parses it with aliasing on, so every {@code bytes} field is a
 * view of that array. One copy per message, transport buffer to heap.
 *
 * <p>Why not gRPC's default: for a message over 4 MiB it parses through a stream decoder that
 * copies each {@code bytes} field twice (into the decoder's buffer, then into the field), and under
 * 4 MiB it copies into a scratch array and then again into each field. Why not alias netty's
 * buffers directly: protobuf-java 4.x copies a direct {@link java.nio.ByteBuffer} into a new array
 * whenever it wraps one ({@code UnsafeByteOperations.unsafeWrap} included), so aliasing the
 * transport would still copy, and would pin netty's buffers for the message's lifetime.
 *
 * <p>The parsed message keeps the array alive as long as any of its fields is referenced; nothing
 * needs releasing. Outbound messages use the fallback (default) serialization. Thread-safety:
 * stateless, safe for concurrent use.
 */
public final class AliasingMarshaller<T extends MessageLite> implements MethodDescriptor.Marshaller<T> {
    private final MethodDescriptor.Marshaller<T> fallback;
    private final Parser<T> parser;
    private final int messageBytesMax;

    /**
     * @param fallback        serializes outbound messages (normally {@code ProtoUtils.marshaller(defaultInstance)})
     * @param defaultInstance the message type's default instance (for its parser)
     * @param messageBytesMax larger messages fail with RESOURCE_EXHAUSTED before any allocation
     */
    public AliasingMarshaller(MethodDescriptor.Marshaller<T> fallback, T defaultInstance, int messageBytesMax) {
        if (messageBytesMax <= 0) {
            throw new IllegalArgumentException("messageBytesMax must be > 0, got " + messageBytesMax);
        }
        this.fallback = fallback;
        @SuppressWarnings("unchecked")
        Parser<T> p = (Parser<T>) defaultInstance.getParserForType();
        this.parser = p;
        this.messageBytesMax = messageBytesMax;
    }

    @Override
    public InputStream stream(T value) {
        return fallback.stream(value);
    }

    @Override
    public T parse(InputStream stream) {
        try (stream) {
            byte[] bytes = readAll(stream);
            CodedInputStream in = CodedInputStream.newInstance(bytes);
            in.enableAliasing(true);
            in.setSizeLimit(Integer.MAX_VALUE);
            return parser.parseFrom(in);
        } catch (InvalidProtocolBufferException e) {
            throw Status.INVALID_ARGUMENT.withDescription("invalid protobuf: " + e.getMessage()).withCause(e).asRuntimeException();
        } catch (IOException e) {
            throw Status.INTERNAL.withDescription("cannot read message: " + e.getMessage()).withCause(e).asRuntimeException();
        }
    }

    private byte[] readAll(InputStream stream) throws IOException {
        if (!(stream instanceof KnownLength)) {
            // in-process transport or a wrapped stream: length unknown up front; still bounded
            byte[] all = stream.readNBytes(messageBytesMax + 1);
            if (all.length > messageBytesMax) {
                throw tooLarge(all.length);
            }
            return all;
        }
        int size = stream.available();
        if (size > messageBytesMax) {
            throw tooLarge(size);
        }
        byte[] bytes = new byte[size];
        int filled = 0;
        // Bounded: each pass reads at least one byte of a stream that holds exactly `size` bytes.
        while (filled < size) {
            int n = stream.read(bytes, filled, size - filled);
            if (n < 0) {
                throw new IOException("stream ended after " + filled + " of " + size + " bytes");
            }
            filled += n;
        }
        return bytes;
    }

    private RuntimeException tooLarge(int size) {
        return Status.RESOURCE_EXHAUSTED.withDescription("message of " + size + "+ bytes exceeds " + messageBytesMax)
                .asRuntimeException();
    }
}
