package dev.basalt.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import org.slf4j.ILoggerFactory;
import org.slf4j.LoggerFactory;

/**
 * The command-line client's logging: warnings and errors only, on stderr (stdout carries records and
 * tables), gRPC's and Netty's errors only.
 *
 * <p>Set in code rather than by an XML file: parsing one took about 0.4 s of every command's start
 * (some 600 classes of XML parser and configuration model), a fifth of a one-shot command's wall
 * time. {@code -Dlogback.configurationFile=FILE} (through {@code BASALT_JAVA_OPTS}) still wins: then
 * nothing is changed here.
 */
final class CliLogging {
    static final String PATTERN = "%d{HH:mm:ss.SSS} %-5level %logger{20} - %msg%n";

    private CliLogging() {}

    /** Configures logback, when it is the backend and no configuration file was named. */
    static void configure() {
        configure(System.getProperty("logback.configurationFile"), LoggerFactory.getILoggerFactory());
    }

    /** @return whether it configured {@code factory} */
    static boolean configure(String namedFile, ILoggerFactory factory) {
        if (namedFile != null) {
            return false;
        }
        if (!(factory instanceof LoggerContext context)) {
            return false; // another backend on the class path: its own configuration applies
        }
        context.reset();
        PatternLayoutEncoder encoder = new PatternLayoutEncoder();
        encoder.setContext(context);
        encoder.setPattern(PATTERN);
        encoder.start();
        ConsoleAppender<ILoggingEvent> stderr = new ConsoleAppender<>();
        stderr.setContext(context);
        stderr.setName("STDERR");
        stderr.setTarget("System.err");
        stderr.setEncoder(encoder);
        stderr.start();
        Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        root.setLevel(Level.WARN);
        root.addAppender(stderr);
        context.getLogger("io.grpc").setLevel(Level.ERROR);
        context.getLogger("io.netty").setLevel(Level.ERROR);
        return true;
    }
}
