package dev.basalt.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.DescriptorProtos.DescriptorProto;
import com.google.protobuf.DescriptorProtos.EnumDescriptorProto;
import com.google.protobuf.DescriptorProtos.EnumValueDescriptorProto;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.DescriptorProtos.MethodDescriptorProto;
import com.google.protobuf.DescriptorProtos.ServiceDescriptorProto;
import com.google.protobuf.Descriptors.FileDescriptor;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * basalt.v1 stays backwards compatible: every .proto file is compared with the descriptors of
 * the last release (src/test/resources/compat/basalt-v1.binpb, a FileDescriptorSet). Adding
 * files, messages, fields, enum values, services and methods is fine; a break is anything an
 * existing client or stored record would notice: a removed or renamed message, service, method or
 * enum; a field or enum value number removed without being reserved, or reused with another name,
 * type, label or presence; a method whose request/response type or streaming changed.
 *
 * <p>After a release, record its descriptors as the new baseline with {@code ./mvnw -B -ntp -pl
 * proto verify -Dtest=ProtoCompatibilityTest -Dbasalt.proto.baseline.write=true} (and commit the
 * file). Thread-safety: a test.
 */
class ProtoCompatibilityTest {
    private static final Path PROTO_DIR = Path.of("src/main/proto");
    private static final Path BASELINE = Path.of("src/test/resources/compat/basalt-v1.binpb");
    private static final Pattern OUTER = Pattern.compile("option java_outer_classname = \"(\\w+)\";");
    private static final String JAVA_PACKAGE = "dev.basalt.proto.v1.";

    /** The descriptors the build compiled from every .proto file of the module, by file name. */
    static Map<String, FileDescriptorProto> current() throws Exception {
        Map<String, FileDescriptorProto> out = new TreeMap<>();
        try (Stream<Path> files = Files.list(PROTO_DIR)) {
            for (Path p : files.filter(f -> f.toString().endsWith(".proto")).sorted().toList()) {
                Matcher m = OUTER.matcher(Files.readString(p, StandardCharsets.UTF_8));
                assertTrue(m.find(), p + " must set java_outer_classname (the test finds its descriptor through it)");
                FileDescriptor fd = (FileDescriptor) Class.forName(JAVA_PACKAGE + m.group(1)).getMethod("getDescriptor").invoke(null);
                out.put(fd.getName(), fd.toProto());
            }
        }
        return out;
    }

    @Test
    void everyProtoFileIsCompatibleWithTheLastRelease() throws Exception {
        Map<String, FileDescriptorProto> now = current();
        if (Boolean.getBoolean("basalt.proto.baseline.write")) {
            Files.createDirectories(BASELINE.getParent());
            Files.write(BASELINE, FileDescriptorSet.newBuilder().addAllFile(now.values()).build().toByteArray());
        }
        FileDescriptorSet baseline;
        try (InputStream in = Files.newInputStream(BASELINE)) {
            baseline = FileDescriptorSet.parseFrom(in);
        }
        List<String> breaks = new ArrayList<>();
        for (FileDescriptorProto old : baseline.getFileList()) {
            FileDescriptorProto cur = now.get(old.getName());
            if (cur == null) {
                breaks.add(old.getName() + ": file removed");
                continue;
            }
            breaks.addAll(compare(old, cur));
        }
        assertEquals(List.of(), breaks, "breaking changes to basalt.v1 since the last release");
    }

    static List<String> compare(FileDescriptorProto old, FileDescriptorProto cur) {
        List<String> breaks = new ArrayList<>();
        if (!old.getPackage().equals(cur.getPackage())) {
            breaks.add(old.getName() + ": package " + old.getPackage() + " became " + cur.getPackage());
        }
        Map<String, DescriptorProto> messages = index(cur.getMessageTypeList(), DescriptorProto::getName);
        for (DescriptorProto m : old.getMessageTypeList()) {
            compareMessage(old.getPackage() + "." + m.getName(), m, messages.get(m.getName()), breaks);
        }
        Map<String, EnumDescriptorProto> enums = index(cur.getEnumTypeList(), EnumDescriptorProto::getName);
        for (EnumDescriptorProto e : old.getEnumTypeList()) {
            compareEnum(old.getPackage() + "." + e.getName(), e, enums.get(e.getName()), breaks);
        }
        Map<String, ServiceDescriptorProto> services = index(cur.getServiceList(), ServiceDescriptorProto::getName);
        for (ServiceDescriptorProto s : old.getServiceList()) {
            String name = old.getPackage() + "." + s.getName();
            ServiceDescriptorProto now = services.get(s.getName());
            if (now == null) {
                breaks.add(name + ": service removed");
                continue;
            }
            Map<String, MethodDescriptorProto> methods = index(now.getMethodList(), MethodDescriptorProto::getName);
            for (MethodDescriptorProto m : s.getMethodList()) {
                MethodDescriptorProto n = methods.get(m.getName());
                if (n == null) {
                    breaks.add(name + "/" + m.getName() + ": method removed");
                } else if (!m.getInputType().equals(n.getInputType()) || !m.getOutputType().equals(n.getOutputType())
                        || m.getClientStreaming() != n.getClientStreaming() || m.getServerStreaming() != n.getServerStreaming()) {
                    breaks.add(name + "/" + m.getName() + ": signature changed");
                }
            }
        }
        return breaks;
    }

    private static void compareMessage(String name, DescriptorProto old, DescriptorProto cur, List<String> breaks) {
        if (cur == null) {
            breaks.add(name + ": message removed or renamed");
            return;
        }
        Map<Integer, FieldDescriptorProto> fields = new HashMap<>();
        cur.getFieldList().forEach(f -> fields.put(f.getNumber(), f));
        for (FieldDescriptorProto f : old.getFieldList()) {
            FieldDescriptorProto n = fields.get(f.getNumber());
            String where = name + "." + f.getName() + " (" + f.getNumber() + ")";
            if (n == null) {
                boolean reserved = cur.getReservedRangeList().stream()
                        .anyMatch(r -> f.getNumber() >= r.getStart() && f.getNumber() < r.getEnd());
                if (!reserved) {
                    breaks.add(where + ": field removed without reserving its number");
                }
                continue;
            }
            if (!f.getName().equals(n.getName())) {
                breaks.add(where + ": renamed to " + n.getName() + " (breaks JSON and grpcurl users)");
            }
            if (f.getType() != n.getType() || !f.getTypeName().equals(n.getTypeName())) {
                breaks.add(where + ": type " + f.getType() + " " + f.getTypeName() + " became " + n.getType() + " " + n.getTypeName());
            }
            if (f.getLabel() != n.getLabel()) {
                breaks.add(where + ": label " + f.getLabel() + " became " + n.getLabel());
            }
            if (f.getProto3Optional() != n.getProto3Optional() || f.hasOneofIndex() != n.hasOneofIndex()) {
                breaks.add(where + ": presence changed (optional/oneof)");
            }
        }
        Map<String, DescriptorProto> nested = index(cur.getNestedTypeList(), DescriptorProto::getName);
        for (DescriptorProto m : old.getNestedTypeList()) {
            compareMessage(name + "." + m.getName(), m, nested.get(m.getName()), breaks);
        }
        Map<String, EnumDescriptorProto> enums = index(cur.getEnumTypeList(), EnumDescriptorProto::getName);
        for (EnumDescriptorProto e : old.getEnumTypeList()) {
            compareEnum(name + "." + e.getName(), e, enums.get(e.getName()), breaks);
        }
    }

    private static void compareEnum(String name, EnumDescriptorProto old, EnumDescriptorProto cur, List<String> breaks) {
        if (cur == null) {
            breaks.add(name + ": enum removed or renamed");
            return;
        }
        Map<Integer, EnumValueDescriptorProto> values = new HashMap<>();
        cur.getValueList().forEach(v -> values.put(v.getNumber(), v));
        for (EnumValueDescriptorProto v : old.getValueList()) {
            EnumValueDescriptorProto n = values.get(v.getNumber());
            if (n == null) {
                boolean reserved = cur.getReservedRangeList().stream()
                        .anyMatch(r -> v.getNumber() >= r.getStart() && v.getNumber() <= r.getEnd());
                if (!reserved) {
                    breaks.add(name + "." + v.getName() + " (" + v.getNumber() + "): value removed without reserving it");
                }
            } else if (!v.getName().equals(n.getName())) {
                breaks.add(name + "." + v.getName() + " (" + v.getNumber() + "): renamed to " + n.getName());
            }
        }
    }

    private static <T> Map<String, T> index(List<T> items, java.util.function.Function<T, String> name) {
        Map<String, T> m = new HashMap<>();
        items.forEach(i -> m.put(name.apply(i), i));
        return m;
    }

    // ------------------------------------------------------------------ the checker itself

    private static FileDescriptorProto.Builder file() {
        return FileDescriptorProto.newBuilder().setName("t.proto").setPackage("basalt.v1");
    }

    private static FieldDescriptorProto field(String name, int number, FieldDescriptorProto.Type type) {
        return FieldDescriptorProto.newBuilder().setName(name).setNumber(number).setType(type)
                .setLabel(FieldDescriptorProto.Label.LABEL_OPTIONAL).build();
    }

    @Test
    void additionsAreCompatible() {
        FileDescriptorProto old = file().addMessageType(DescriptorProto.newBuilder().setName("M")
                .addField(field("a", 1, FieldDescriptorProto.Type.TYPE_INT32))).build();
        FileDescriptorProto cur = file().addMessageType(DescriptorProto.newBuilder().setName("M")
                .addField(field("a", 1, FieldDescriptorProto.Type.TYPE_INT32))
                .addField(field("b", 2, FieldDescriptorProto.Type.TYPE_STRING)))
                .addMessageType(DescriptorProto.newBuilder().setName("N")).build();
        assertEquals(List.of(), compare(old, cur));
    }

    @Test
    void changedRemovedAndReusedNumbersAreBreaks() {
        FileDescriptorProto old = file().addMessageType(DescriptorProto.newBuilder().setName("M")
                .addField(field("a", 1, FieldDescriptorProto.Type.TYPE_INT32))
                .addField(field("b", 2, FieldDescriptorProto.Type.TYPE_STRING))
                .addField(field("c", 3, FieldDescriptorProto.Type.TYPE_BYTES))).build();
        FileDescriptorProto cur = file().addMessageType(DescriptorProto.newBuilder().setName("M")
                .addField(field("a", 1, FieldDescriptorProto.Type.TYPE_INT64))
                .addField(field("renamed", 2, FieldDescriptorProto.Type.TYPE_STRING))
                .addReservedRange(DescriptorProto.ReservedRange.newBuilder().setStart(4).setEnd(5))).build();
        List<String> breaks = compare(old, cur);
        assertEquals(3, breaks.size(), breaks.toString());
        assertTrue(breaks.get(0).contains("TYPE_INT32"), breaks.toString());
        assertTrue(breaks.get(1).contains("renamed"), breaks.toString());
        assertTrue(breaks.get(2).contains("without reserving"), breaks.toString());
        FileDescriptorProto reserved = file().addMessageType(DescriptorProto.newBuilder().setName("M")
                .addField(field("a", 1, FieldDescriptorProto.Type.TYPE_INT32))
                .addField(field("b", 2, FieldDescriptorProto.Type.TYPE_STRING))
                .addReservedRange(DescriptorProto.ReservedRange.newBuilder().setStart(3).setEnd(4))).build();
        assertEquals(List.of(), compare(old, reserved), "a removed field whose number is reserved is fine");
    }

    @Test
    void serviceChangesAreBreaks() {
        MethodDescriptorProto m = MethodDescriptorProto.newBuilder().setName("Get").setInputType(".basalt.v1.A")
                .setOutputType(".basalt.v1.B").build();
        FileDescriptorProto old = file().addService(ServiceDescriptorProto.newBuilder().setName("S").addMethod(m)).build();
        assertFalse(compare(old, file().addService(ServiceDescriptorProto.newBuilder().setName("S")
                .addMethod(m.toBuilder().setServerStreaming(true))).build()).isEmpty());
        assertFalse(compare(old, file().addService(ServiceDescriptorProto.newBuilder().setName("S")).build()).isEmpty());
        assertFalse(compare(old, file().build()).isEmpty());
        assertEquals(List.of(), compare(old, file().addService(ServiceDescriptorProto.newBuilder().setName("S").addMethod(m)
                .addMethod(m.toBuilder().setName("Put"))).build()));
    }
}
