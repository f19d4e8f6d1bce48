package dev.basalt.raft.testkit;

import net.jqwik.api.lifecycle.LifecycleContext;
import net.jqwik.api.lifecycle.SkipExecutionHook;

/**
 * jqwik hook (use with {@code @AddLifecycleHook(LongTestsOnly.class)}) that skips a property unless
 * the build runs the long configuration ({@code -Plong-tests}, which sets {@code basalt.long=true}).
 * Stateless and thread-safe.
 */
public final class LongTestsOnly implements SkipExecutionHook {

    @Override
    public SkipResult shouldBeSkipped(LifecycleContext context) {
        return Boolean.getBoolean("basalt.long") ? SkipResult.doNotSkip()
                : SkipResult.skip("long randomized run: enable with -Plong-tests");
    }
}
