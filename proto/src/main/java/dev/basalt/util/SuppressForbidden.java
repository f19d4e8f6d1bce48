package dev.basalt.util;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a method or class allowed to use an API banned by the build's determinism check
 * (build-support/forbidden-nondeterminism.txt): wall clock, unseeded randomness, threads.
 * Only driver and adapter code may carry it, and {@link #reason()} must say why.
 */
@Retention(RetentionPolicy.CLASS)
@Target({ElementType.TYPE, ElementType.METHOD, ElementType.CONSTRUCTOR, ElementType.FIELD})
public @interface SuppressForbidden {
    String reason();
}
