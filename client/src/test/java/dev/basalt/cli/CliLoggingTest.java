package dev.basalt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.ConsoleAppender;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.slf4j.ILoggerFactory;

/** The CLI's logging, set in code: warnings up on stderr (stdout carries the records), gRPC and Netty errors only. */
class CliLoggingTest {

    @Test
    void warningsOnStderr_grpcAndNettyErrorsOnly() {
        LoggerContext context = new LoggerContext(); // its own, not the test JVM's
        context.getLogger("io.grpc.internal").setLevel(Level.DEBUG); // a level set before is not kept

        assertTrue(CliLogging.configure(null, context));

        ch.qos.logback.classic.Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        assertEquals(Level.WARN, root.getLevel());
        assertEquals(Level.ERROR, context.getLogger("io.grpc").getLevel());
        assertEquals(Level.ERROR, context.getLogger("io.netty").getLevel());
        assertEquals(Level.ERROR, context.getLogger("io.grpc.internal").getEffectiveLevel());
        assertEquals(Level.WARN, context.getLogger("dev.basalt.client.internal.Sender").getEffectiveLevel());
        List<Appender<?>> appenders = new ArrayList<>();
        root.iteratorForAppenders().forEachRemaining(appenders::add);
        assertEquals(1, appenders.size(), appenders.toString());
        ConsoleAppender<?> console = assertInstanceOf(ConsoleAppender.class, appenders.get(0));
        assertEquals("System.err", console.getTarget());
        assertTrue(console.isStarted());
        assertEquals(CliLogging.PATTERN, assertInstanceOf(PatternLayoutEncoder.class, console.getEncoder()).getPattern());
    }

    @Test
    void aNamedConfigurationFile_orAnotherBackend_isLeftAlone() {
        LoggerContext context = new LoggerContext();
        assertFalse(CliLogging.configure("/etc/my-logback.xml", context));
        assertEquals(Level.DEBUG, context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).getLevel(), "untouched");
        assertFalse(context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).iteratorForAppenders().hasNext());

        ILoggerFactory other = name -> org.slf4j.helpers.NOPLogger.NOP_LOGGER;
        assertFalse(CliLogging.configure(null, other));
    }
}
